// Masked views of a loaded config. The resolved secrets (provider keys, header values taken from the
// environment) live in the config because the gateway must send them; these views are what logs,
// `ibex providers --json` and the admin API may show. The views are also installed as `toJSON` and
// the `util.inspect` hook, so `JSON.stringify(config)` or `console.log(config)` cannot leak a key.
import { maskSecret } from './env-refs.js';
import type { IbexFileConfig, ProviderFileConfig } from './types.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

export function describeProvider(p: ProviderFileConfig): Record<string, unknown> {
  return {
    name: p.name,
    kind: p.kind,
    baseUrl: p.baseUrl,
    keys: p.keys.map((k) => ({ env: k.env, masked: k.masked })),
    keyStrategy: p.keyStrategy,
    cooldownMs: p.cooldownMs,
    ...(p.apiVersion !== undefined ? { apiVersion: p.apiVersion } : {}),
    headers: maskedHeaders(p),
    timeouts: { ...p.timeouts },
    ...(p.promptCache !== undefined ? { promptCache: p.promptCache } : {}),
    ...(p.maxTokensField !== undefined ? { maxTokensField: p.maxTokensField } : {}),
  };
}

function maskedHeaders(p: Pick<ProviderFileConfig, 'headers' | 'secretHeaders'>): Record<string, string> {
  return Object.fromEntries(Object.entries(p.headers).map(([k, v]) => [k, p.secretHeaders.includes(k) ? maskSecret(v) : v]));
}

/** The whole config, JSON-safe, secrets masked */
export function describe(c: IbexFileConfig): Record<string, unknown> {
  return {
    origin: c.origin,
    path: c.path,
    providers: c.providers.map(describeProvider),
    models: JSON.parse(JSON.stringify(c.models)),
    retries: { ...c.retries },
    circuit: { ...c.circuit },
    pricing: JSON.parse(JSON.stringify(c.pricing)),
    agents: JSON.parse(JSON.stringify(c.agents)),
    retention: { ...c.retention },
    passthrough: [...c.passthrough],
    ...(c.cors ? { cors: { origins: [...c.cors.origins] } } : {}),
    limits: { ...c.limits },
    timeouts: { ...c.timeouts },
  };
}

function hideView(target: object, view: () => unknown): void {
  Object.defineProperty(target, 'toJSON', { value: view, enumerable: false });
  Object.defineProperty(target, INSPECT, { value: view, enumerable: false });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Installs the masked views on every object that holds a secret, then freezes the whole tree. */
export function seal(c: IbexFileConfig): IbexFileConfig {
  for (const p of c.providers) {
    hideView(p, () => describeProvider(p));
    hideView(p.headers, () => maskedHeaders(p));
    hideView(p.keys, () => p.keys.map((k) => ({ env: k.env, masked: k.masked })));
  }
  hideView(c.providers, () => c.providers.map(describeProvider));
  hideView(c, () => describe(c));
  return deepFreeze(c);
}

/** Every resolved secret, for the logger's redaction list */
export function secretsOf(c: IbexFileConfig): string[] {
  return c.providers.flatMap((p) => [...p.keys.map((k) => k.value), ...p.secretHeaders.map((h) => p.headers[h]!)]);
}
