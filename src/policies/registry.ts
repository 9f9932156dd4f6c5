// loadPolicies: ibex.yaml `policies:` entries → Policy objects. `use:` is a built-in name
// (builtin/index.ts) or a path to a local ES module (starting with `.` or `/`, or ending in .js/.mjs),
// resolved against ibex.yaml's folder. A module exports a factory `(options, env) => Policy` or a Policy
// object, as its default export (or as `createPolicy`). A module is imported again when its file
// changed (its mtime is part of the import URL), so a reload of ibex.yaml picks up an edited policy.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Policy, PolicyEnv, PolicyFactory } from './types.js';
import { BUILTIN_POLICIES } from './builtin/index.js';

export interface PolicySpec {
  readonly use: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export class PolicyLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyLoadError';
  }
}

const isPath = (use: string) => use.startsWith('.') || isAbsolute(use) || /\.(m?js|cjs)$/.test(use);

export async function loadPolicies(specs: readonly PolicySpec[], baseDir: string, env: Omit<PolicyEnv, 'baseDir'> = {}): Promise<Policy[]> {
  const out: Policy[] = [];
  const penv: PolicyEnv = { ...env, baseDir };
  for (const spec of specs) {
    const factory = isPath(spec.use) ? await importModule(spec.use, baseDir) : BUILTIN_POLICIES[spec.use];
    if (!factory) {
      throw new PolicyLoadError(`unknown policy "${spec.use}" (built-ins: ${Object.keys(BUILTIN_POLICIES).join(', ')}; or a path like ./policies/mine.mjs)`);
    }
    let policy: Policy;
    try {
      policy = await factory(spec.options, penv);
    } catch (err) {
      throw new PolicyLoadError((err as Error).message, { cause: err });
    }
    checkPolicy(policy, spec.use);
    out.push(policy);
  }
  return out;
}

async function importModule(use: string, baseDir: string): Promise<PolicyFactory> {
  const file = resolve(baseDir, use);
  let mtime: number;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    throw new PolicyLoadError(`policy module ${use} not found (looked at ${file})`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`${pathToFileURL(file).href}?mtime=${mtime}`)) as Record<string, unknown>;
  } catch (err) {
    throw new PolicyLoadError(`policy module ${use} failed to load: ${(err as Error).message}`, { cause: err });
  }
  const exported = mod.default ?? mod.createPolicy;
  if (typeof exported === 'function') return exported as PolicyFactory;
  if (exported && typeof exported === 'object') return () => ({ name: use, ...(exported as object) }) as Policy;
  throw new PolicyLoadError(`policy module ${use} exports no policy (a default export: a function (options, env) => policy, or a policy object)`);
}

function checkPolicy(p: unknown, use: string): asserts p is Policy {
  if (!p || typeof p !== 'object') throw new PolicyLoadError(`policy ${use} did not build a policy object`);
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') (o as { name: string }).name = use;
  for (const hook of ['onRequest', 'onChunk', 'onResponse']) {
    if (o[hook] !== undefined && typeof o[hook] !== 'function') throw new PolicyLoadError(`policy ${use}: ${hook} must be a function`);
  }
  if (!o.onRequest && !o.onChunk && !o.onResponse) throw new PolicyLoadError(`policy ${use} has none of onRequest, onChunk, onResponse`);
}
