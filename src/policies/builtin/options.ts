// Reading a built-in's options from ibex.yaml: wrong options fail when the policies are loaded (at
// start or reload), with the policy and option named, never on a request.

export class PolicyOptionError extends Error {
  constructor(policy: string, message: string) {
    super(`policy ${policy}: ${message}`);
    this.name = 'PolicyOptionError';
  }
}

type Options = Readonly<Record<string, unknown>>;

export function stringList(policy: string, o: Options, key: string, required = false): string[] {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new PolicyOptionError(policy, `"${key}" is required (a list of strings)`);
    return [];
  }
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new PolicyOptionError(policy, `"${key}" must be a list of strings`);
  return list as string[];
}

export function positiveInt(policy: string, o: Options, key: string, required = false): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new PolicyOptionError(policy, `"${key}" is required (a positive integer)`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new PolicyOptionError(policy, `"${key}" must be a positive integer`);
  return v;
}

/** `on: [request, response]` (the sides a policy applies to); `all` when absent. */
export function sides<S extends string>(policy: string, o: Options, all: readonly S[], key = 'on'): Set<S> {
  const list = stringList(policy, o, key);
  if (list.length === 0) return new Set(all);
  for (const s of list) if (!all.includes(s as S)) throw new PolicyOptionError(policy, `"${key}" takes ${all.join(', ')}; got "${s}"`);
  return new Set(list as S[]);
}

/**
 * A regex from ibex.yaml. Leading inline flags in the PCRE/RE2 style (`(?i)`, `(?s)`, `(?m)`, `(?is)`)
 * are accepted and turned into JavaScript flags, since Node 20 has no inline modifiers.
 */
export function compileRegex(policy: string, source: string): RegExp {
  let flags = 'u';
  let body = source;
  const m = /^\(\?([ims]+)\)/.exec(source);
  if (m) {
    for (const f of m[1]!) if (!flags.includes(f)) flags += f;
    body = source.slice(m[0].length);
  }
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new PolicyOptionError(policy, `bad pattern ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

/** `gpt-4o*` style globs: `*` any run of characters, `?` one; everything else literal. */
export function globToRegex(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

export function allowedKeys(policy: string, o: Options, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new PolicyOptionError(policy, `unknown option "${k}" (known: ${keys.join(', ') || 'none'})`);
}
