// PII detectors: emails, phone numbers, payment card numbers (Luhn-checked) and API keys / tokens.
// Each is a global regex plus an optional check of the match; overlapping matches are resolved by the
// earliest start (then the longest). Every pattern is bounded on the left by a lookbehind instead of
// `\b`, so a scan that starts mid-text (the streaming redactor rescans what it held back) can be given
// the characters before it as context and decide exactly as a scan of the whole text would.

export type PiiKind = 'email' | 'phone' | 'card' | 'key';
export const PII_KINDS: readonly PiiKind[] = ['key', 'email', 'card', 'phone'];

interface Detector {
  kind: PiiKind;
  re: RegExp;
  valid?: (match: string) => boolean;
}

/** Luhn (mod 10) over the digits of `s`, ignoring spaces and dashes. */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let double = false;
  let n = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let d = c - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
    n++;
  }
  return n >= 12 && n <= 19 && sum % 10 === 0;
}

const digitCount = (s: string) => s.replace(/\D/g, '').length;

const DETECTORS: readonly Detector[] = [
  {
    kind: 'key',
    re: new RegExp(
      [
        'sk-(?:proj-|ant-(?:api\\d\\d-)?)?[A-Za-z0-9_-]{20,}', // OpenAI, Anthropic
        'ibex_pat_[0-9A-Za-z]{20,}',
        'gh[pousr]_[A-Za-z0-9]{30,}',
        'github_pat_[A-Za-z0-9_]{30,}',
        'AKIA[0-9A-Z]{16}', // AWS access key id
        'AIza[0-9A-Za-z_-]{35}', // Google API key
        'xox[abposr]-[A-Za-z0-9-]{10,}', // Slack
        'eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}', // JWT
      ]
        .map((p) => `(?<![A-Za-z0-9_-])(?:${p})`)
        .join('|'),
      'g',
    ),
  },
  {
    kind: 'email',
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
  },
  {
    kind: 'card',
    // 12–19 digits, optionally grouped by single spaces or dashes
    re: /(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d])/g,
    valid: luhnValid,
  },
  {
    kind: 'phone',
    // +CC followed by groups, or a North-American style (AAA) BBB-CCCC / AAA-BBB-CCCC; 8–15 digits
    re: /(?<![\w+])(?:\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w])/g,
    valid: (m) => {
      const n = digitCount(m);
      return n >= 8 && n <= 15;
    },
  },
];

export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

/** Matches in `text` from `from` on (the text before `from` is context for the lookbehinds only). */
export function findPii(text: string, kinds: ReadonlySet<PiiKind>, from = 0): PiiMatch[] {
  const all: PiiMatch[] = [];
  for (const d of DETECTORS) {
    if (!kinds.has(d.kind)) continue;
    d.re.lastIndex = from;
    for (let m = d.re.exec(text); m; m = d.re.exec(text)) {
      if (!d.valid || d.valid(m[0])) all.push({ kind: d.kind, start: m.index, end: m.index + m[0].length });
      if (m[0].length === 0) d.re.lastIndex++;
    }
  }
  if (all.length <= 1) return all;
  all.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiMatch[] = [];
  let lastEnd = -1;
  for (const m of all) {
    if (m.start < lastEnd) continue;
    out.push(m);
    lastEnd = m.end;
  }
  return out;
}

export const replacementFor = (kind: PiiKind) => `[REDACTED_${kind.toUpperCase()}]`;

/** `text` with `matches` replaced, from `from` on (the prefix before it is dropped). */
export function applyMatches(text: string, matches: readonly PiiMatch[], from = 0, to = text.length): string {
  let out = '';
  let at = from;
  for (const m of matches) {
    if (m.start >= to) break;
    out += text.slice(at, m.start) + replacementFor(m.kind);
    at = m.end;
  }
  return out + text.slice(at, to);
}

export function redactPii(text: string, kinds: ReadonlySet<PiiKind>): { text: string; counts: Partial<Record<PiiKind, number>> } {
  const matches = findPii(text, kinds);
  const counts: Partial<Record<PiiKind, number>> = {};
  for (const m of matches) counts[m.kind] = (counts[m.kind] ?? 0) + 1;
  return { text: matches.length ? applyMatches(text, matches) : text, counts };
}
