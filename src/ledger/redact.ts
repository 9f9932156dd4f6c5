// Masking for agents whose content mode is `redacted`: secrets and common personal data are replaced
// before a checkpoint is stored. Pattern-based, so best effort: it catches the usual shapes (an email,
// a phone number, a card number that passes Luhn, an API key), not every secret a text may hold.
// Agents that must never store content use `metadata`.

const RULES: { name: string; re: RegExp; keep?: (match: string) => boolean }[] = [
  // API keys and tokens first: they may contain digit runs the phone/card rules would split.
  {
    name: 'SECRET',
    re: /\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|ibex_pat_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})/g,
  },
  { name: 'SECRET', re: /\b(Bearer\s+)[A-Za-z0-9._~+/-]{20,}=*/gi },
  { name: 'EMAIL', re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g },
  { name: 'CARD', re: /\b\d(?:[ -]?\d){12,18}\b/g, keep: (m) => !luhn(m.replace(/\D/g, '')) },
  { name: 'PHONE', re: /(?<![\w+])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,4}(?![\w])/g, keep: (m) => m.replace(/\D/g, '').length < 9 },
];

/** `text` with each match replaced by `[REDACTED_<KIND>]`. */
export function redactText(text: string): string {
  let out = text;
  for (const rule of RULES) {
    out = out.replace(rule.re, (m: string, prefix?: unknown) => {
      if (rule.keep?.(m)) return m;
      return (typeof prefix === 'string' ? prefix : '') + `[REDACTED_${rule.name}]`;
    });
  }
  return out;
}

/** A copy of a JSON value with every string (not keys) redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    // fromEntries defines own properties: a `__proto__` key stays a key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
