// `${VAR}` references: the only way a secret gets into ibex.yaml. They are resolved once, at load
// time, from the environment the caller passes (process.env in production, a fixture in tests).

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
/** The whole value is one reference: what `keys` entries must be */
const WHOLE_REF_RE = new RegExp(`^\\$\\{(${NAME})\\}$`);
const ANY_REF_RE = new RegExp(`\\$\\{(${NAME})\\}`, 'g');
/** `${` that does not open a well-formed reference: a typo we would otherwise send upstream verbatim */
const BROKEN_REF_RE = /\$\{(?![A-Za-z_][A-Za-z0-9_]*\})/;

/** `"${OPENAI_API_KEY}"` → `OPENAI_API_KEY`; anything else (a literal, text around it) → null */
export function wholeEnvRef(text: string): string | null {
  return WHOLE_REF_RE.exec(text.trim())?.[1] ?? null;
}

export function hasEnvRef(text: string): boolean {
  ANY_REF_RE.lastIndex = 0;
  return ANY_REF_RE.test(text);
}

export type Interpolated = { ok: true; value: string; refs: string[] } | { ok: false; message: string };

/**
 * Replaces every `${VAR}` in `text`. An unset or empty variable is an error naming it (never its
 * value): an empty key or header would only fail later, upstream, with a less helpful message.
 */
export function interpolateEnv(text: string, env: NodeJS.ProcessEnv): Interpolated {
  if (BROKEN_REF_RE.test(text)) {
    return { ok: false, message: 'malformed reference: write "${NAME}" with a name of letters, digits and _' };
  }
  const refs: string[] = [];
  const missing: string[] = [];
  const value = text.replace(ANY_REF_RE, (_all, name: string) => {
    refs.push(name);
    const v = env[name];
    if (v === undefined || v === '') {
      missing.push(name);
      return '';
    }
    return v;
  });
  if (missing.length > 0) {
    const names = [...new Set(missing)];
    return {
      ok: false,
      message: `environment variable ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not set (or empty)`,
    };
  }
  return { ok: true, value, refs };
}

/** `sk-proj-abcdefgh1234` → `sk-…1234`; short values show nothing of themselves. */
export function maskSecret(secret: string): string {
  if (secret.length < 12) return '***';
  return `${secret.slice(0, 3)}…${secret.slice(-4)}`;
}
