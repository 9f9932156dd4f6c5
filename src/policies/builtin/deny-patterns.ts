// deny-patterns: blocks a request (400 policy_violation) or a reply whose text matches one of the
// regexes or contains one of the phrases (case-insensitive). Streams are scanned with a window of the
// last characters before each delta, so a phrase split across chunks is found; the stream is stopped
// in-band (what was sent before the match is not recalled).
//   { use: deny-patterns, patterns: ["(?i)password"], phrases: ["rm -rf"], on: [request, response] }
import type { PolicyFactory, PolicyState } from '../types.js';
import { allowedKeys, compileRegex, PolicyOptionError, sides, stringList } from './options.js';

const NAME = 'deny-patterns';
/** How much earlier text is rescanned with each delta (longest match found across chunks) */
const WINDOW = 512;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const denyPatterns: PolicyFactory = (options) => {
  allowedKeys(NAME, options, ['patterns', 'phrases', 'on', 'message']);
  const on = sides(NAME, options, ['request', 'response'] as const);
  const res = stringList(NAME, options, 'patterns').map((p) => compileRegex(NAME, p));
  for (const p of stringList(NAME, options, 'phrases')) res.push(new RegExp(escape(p), 'iu'));
  if (res.length === 0) throw new PolicyOptionError(NAME, 'give at least one of "patterns" or "phrases"');
  const message = typeof options.message === 'string' ? options.message : null;
  /** The first pattern that matches, as "pattern #N" (the pattern itself stays out of the error). */
  const hit = (text: string): string | null => {
    for (let i = 0; i < res.length; i++) {
      res[i]!.lastIndex = 0;
      if (res[i]!.test(text)) return message ?? `the text matches denied pattern #${i + 1}`;
    }
    return null;
  };
  return {
    name: NAME,
    ...(on.has('request')
      ? {
          onRequest(req) {
            for (const m of req.messages) {
              const why = hit(m.text);
              if (why) return { action: 'reject', reason: `${m.role} message: ${why}` };
            }
            return { action: 'pass' };
          },
        }
      : {}),
    ...(on.has('response')
      ? {
          onChunk(chunk, state: PolicyState) {
            if (chunk.kind !== 'text') return { action: 'pass' };
            const tails = (state.tails ??= new Map<number, string>()) as Map<number, string>;
            const scanned = (tails.get(chunk.index) ?? '') + chunk.text;
            const why = hit(scanned);
            if (why) return { action: 'stop', reason: why };
            tails.set(chunk.index, scanned.slice(-WINDOW));
            return { action: 'pass' };
          },
          onResponse(r) {
            const why = r.text === null ? null : hit(r.text);
            return why ? { action: 'reject', reason: `the reply: ${why}` } : { action: 'pass' };
          },
        }
      : {}),
  };
};
