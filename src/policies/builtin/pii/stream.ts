// Redaction of a text that arrives in pieces. What is emitted must be exactly what redacting the whole
// text at once would give, whatever the split. Each step scans the held-back tail plus the new piece
// (O(LOOK_BEHIND + piece)), emits everything up to a cut and holds the rest:
//   - the cut is at most LOOK_BEHIND characters before the end, so a PII value that has not matched
//     yet (a card number half arrived) is still held whole when it completes;
//   - a match that reaches into the held part is held from its start (it may still grow);
//   - a few characters of what was emitted are kept as context for the patterns' lookbehinds.
// A single match that keeps growing past MAX_HOLD is emitted redacted at once (bounded memory).
import { applyMatches, findPii, type PiiKind } from './detect.js';

/** Longest PII value guaranteed to be redacted whole across pieces (longer emails/keys match earlier) */
export const LOOK_BEHIND = 256;
const MAX_HOLD = 8192;
const CONTEXT = 8;

export interface StreamRedactionState {
  /** The last raw characters emitted, for the lookbehinds */
  context: string;
}

export interface StreamStep {
  emit: string;
  hold: string;
  redacted: number;
}

/** One piece; `text` starts with what the previous step held back (the stream filter offers it again). */
export function redactStep(st: StreamRedactionState, text: string, kinds: ReadonlySet<PiiKind>, final: boolean): StreamStep {
  const ctx = st.context;
  const all = ctx + text;
  const base = ctx.length;
  const matches = findPii(all, kinds, base);
  let cut = final ? all.length : Math.max(base, all.length - LOOK_BEHIND);
  if (!final) {
    for (const m of matches) {
      if (m.end > cut && m.start < cut) {
        cut = m.start;
        break;
      }
    }
    // a runaway match: emit it redacted rather than hold without bound
    if (all.length - cut > MAX_HOLD) cut = all.length;
  }
  const kept = matches.filter((m) => m.end <= cut || (cut === all.length && m.start < cut));
  const emit = applyMatches(all, kept, base, cut);
  const emittedRaw = all.slice(0, cut);
  st.context = emittedRaw.slice(-CONTEXT);
  return { emit, hold: all.slice(cut), redacted: kept.length };
}
