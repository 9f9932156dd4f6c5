// The validators of ibex.yaml, one small function per section, written by hand over YamlReader (no
// schema library): each knows its keys, defaults and the message a user needs to fix a mistake.
import { didYouMean } from './suggest.js';
import { hasEnvRef, interpolateEnv, maskSecret, wholeEnvRef } from './env-refs.js';
import type { Located, YamlReader } from './yaml-reader.js';
import {
  DEFAULT_ANTHROPIC_BASE_URL,
  DEFAULT_CIRCUIT,
  DEFAULT_COOLDOWN_MS,
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_PASSTHROUGH,
  DEFAULT_RETRIES_PER_TARGET,
  KEY_STRATEGIES,
  MAX_TOKENS_FIELDS,
  PROVIDER_KINDS,
  type AgentFileConfig,
  type CircuitSettings,
  type IbexFileConfig,
  type ModelPrice,
  type MaxTokensField,
  type ModelTarget,
  type PolicyRef,
  type ProviderFileConfig,
  type ProviderKey,
  type Timeouts,
} from './types.js';

export type FileSections = Omit<IbexFileConfig, 'origin' | 'path'>;

const TOP_KEYS = ['providers', 'models', 'retries', 'circuit', 'pricing', 'agents', 'retention', 'passthrough', 'cors', 'limits', 'timeouts'];
const PROVIDER_KEYS = ['kind', 'baseUrl', 'keys', 'keyStrategy', 'cooldown', 'apiVersion', 'headers', 'timeouts', 'promptCache', 'maxTokensField'];
const TIMEOUT_KEYS = ['connect', 'ttfb', 'idle'];
const PRICE_KEYS = ['input', 'cachedInput', 'output'];
const AGENT_KEYS = ['policies', 'cache'];

/** Same rule as agent names on the CLI (src/cli/parse.ts); no "/", which separates provider and model. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers whose literal value would be a secret written into the file */
const SECRET_HEADER_RE = /authorization|api[-_]?key|token|secret|password|cookie/i;
const PASSTHROUGH_RE = /^\/v1\/[A-Za-z0-9._~/-]+$/;
/** Enough for any sane price per 1M tokens, small enough to catch a misplaced exponent */
const MAX_PRICE = 100_000;

/**
 * Reads the whole document. `envProviders` supplies the providers when the file has no `providers:`
 * (a file with only `agents:` keeps the IBEX_UPSTREAM_URL/OPENAI_API_KEY provider).
 */
export function readSections(r: YamlReader, env: NodeJS.ProcessEnv, envProviders: () => ProviderFileConfig[]): FileSections {
  const root = r.root();
  const top = r.isAbsent(root) ? {} : (r.object(root, TOP_KEYS) ?? {});

  let providers: ProviderFileConfig[];
  let names: string[];
  if (top.providers) ({ list: providers, names } = readProviders(r, top.providers, env));
  else {
    providers = envProviders();
    names = providers.map((p) => p.name);
  }

  return {
    providers,
    providersOrigin: top.providers ? 'file' : 'env',
    models: top.models ? readModels(r, top.models, names) : {},
    retries: { perTarget: readRetries(r, top.retries) },
    circuit: top.circuit ? readCircuit(r, top.circuit) : { ...DEFAULT_CIRCUIT },
    pricing: top.pricing ? readPricing(r, top.pricing, names) : {},
    agents: top.agents ? readAgents(r, top.agents) : {},
    retention: top.retention ? readRetention(r, top.retention) : {},
    passthrough: top.passthrough ? readPassthrough(r, top.passthrough) : [...DEFAULT_PASSTHROUGH],
    ...(top.cors ? { cors: readCors(r, top.cors) } : {}),
    limits: top.limits ? readLimits(r, top.limits) : {},
    timeouts: top.timeouts ? readTimeouts(r, top.timeouts) : {},
  };
}

// ---- providers ----

function readProviders(r: YamlReader, loc: Located, env: NodeJS.ProcessEnv): { list: ProviderFileConfig[]; names: string[] } {
  const entries = r.entries(loc);
  if (!entries) return { list: [], names: [] };
  if (entries.length === 0) r.fail(loc, 'needs at least one provider (or remove "providers:" to use IBEX_UPSTREAM_URL and OPENAI_API_KEY)');
  const list: ProviderFileConfig[] = [];
  for (const e of entries) {
    if (!NAME_RE.test(e.key)) {
      r.fail(e.keyAt, `provider name "${e.key}": use letters, digits, ".", "_" and "-" (no "/": it separates provider and model)`);
    }
    const p = readProvider(r, e.key, e.value, env);
    if (p) list.push(p);
  }
  // Names of invalid providers still count, so their models do not also report "unknown provider".
  return { list, names: entries.map((e) => e.key) };
}

function readProvider(r: YamlReader, name: string, loc: Located, env: NodeJS.ProcessEnv): ProviderFileConfig | undefined {
  const f = r.object(loc, PROVIDER_KEYS, ['kind']);
  if (!f) return undefined;
  const kind = f.kind && !r.isAbsent(f.kind) ? r.oneOf(f.kind, PROVIDER_KINDS) : undefined;
  if (!kind) return undefined;

  let baseUrl: string | undefined;
  if (f.baseUrl) baseUrl = readUrl(r, f.baseUrl, env);
  else if (kind === 'azure-openai') r.fail(loc, 'missing "baseUrl" (https://NAME.openai.azure.com) for kind azure-openai');
  else baseUrl = kind === 'anthropic' ? DEFAULT_ANTHROPIC_BASE_URL : DEFAULT_OPENAI_BASE_URL;

  let apiVersion: string | undefined;
  if (f.apiVersion) {
    if (kind !== 'azure-openai') r.fail(f.apiVersion, `"apiVersion" only applies to kind azure-openai (this provider is ${kind})`);
    else apiVersion = r.string(f.apiVersion);
  }

  let maxTokensField: MaxTokensField | undefined;
  if (f.maxTokensField) {
    if (kind === 'anthropic') r.fail(f.maxTokensField, '"maxTokensField" only applies to kinds openai and azure-openai (Anthropic\'s field is always max_tokens)');
    else maxTokensField = r.oneOf(f.maxTokensField, MAX_TOKENS_FIELDS);
  }

  const headers = f.headers ? readHeaders(r, f.headers, env) : { headers: {}, secret: [] };
  if (baseUrl === undefined) return undefined;
  return {
    name,
    kind,
    baseUrl,
    keys: f.keys ? readKeys(r, f.keys, env) : [],
    keyStrategy: (f.keyStrategy && r.oneOf(f.keyStrategy, KEY_STRATEGIES)) || 'round_robin',
    cooldownMs: f.cooldown ? (r.duration(f.cooldown, { allowZero: true }) ?? DEFAULT_COOLDOWN_MS) : DEFAULT_COOLDOWN_MS,
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    headers: headers.headers,
    secretHeaders: headers.secret,
    timeouts: f.timeouts ? readTimeouts(r, f.timeouts) : {},
    ...(f.promptCache ? { promptCache: r.bool(f.promptCache) } : {}),
    ...(maxTokensField ? { maxTokensField } : {}),
  };
}

function readUrl(r: YamlReader, loc: Located, env: NodeJS.ProcessEnv): string | undefined {
  const raw = r.string(loc);
  if (raw === undefined) return undefined;
  const text = interpolateEnv(raw, env);
  if (!text.ok) return r.fail(loc, text.message);
  let url: URL;
  try {
    url = new URL(text.value);
  } catch {
    // The value is not echoed: it may come from the environment, or carry a password.
    return r.fail(loc, 'not a URL; expected http(s)://host[:port][/path]');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return r.fail(loc, `expected an http or https URL, got ${url.protocol}`);
  if (url.search || url.hash) return r.fail(loc, 'must not carry a query or fragment (Azure: use "apiVersion")');
  return text.value.replace(/\/+$/, '');
}

/** Each key must be exactly one `${VAR}` reference: a secret written into the file is refused. */
function readKeys(r: YamlReader, loc: Located, env: NodeJS.ProcessEnv): ProviderKey[] {
  const keys: ProviderKey[] = [];
  for (const item of r.list(loc) ?? []) {
    const raw = r.string(item);
    if (raw === undefined) continue;
    const name = wholeEnvRef(raw);
    if (name === null) {
      if (hasEnvRef(raw)) r.fail(item, 'a key must be one whole reference like "${OPENAI_API_KEY}", with nothing around it');
      else {
        r.fail(item, `a literal secret (${maskSecret(raw)}) is refused: secrets go in environment variables; set one and write "\${MY_PROVIDER_KEY}" here`);
      }
      continue;
    }
    const value = env[name];
    if (value === undefined || value === '') {
      r.fail(item, `environment variable ${name} is not set (or empty)`);
      continue;
    }
    keys.push(providerKey(name, value));
  }
  return keys;
}

/** The secret rides as a non-enumerable property: JSON, inspect and spread never carry it. */
export function providerKey(env: string, value: string): ProviderKey {
  const key = { env, masked: maskSecret(value) };
  Object.defineProperty(key, 'value', { value, enumerable: false });
  return key as ProviderKey;
}

function readHeaders(r: YamlReader, loc: Located, env: NodeJS.ProcessEnv): { headers: Record<string, string>; secret: string[] } {
  const headers: [string, string][] = [];
  const secret: string[] = [];
  for (const e of r.entries(loc) ?? []) {
    if (!HEADER_NAME_RE.test(e.key)) {
      r.fail(e.keyAt, `"${e.key}" is not a valid header name`);
      continue;
    }
    const raw = r.string(e.value, { nonEmpty: false });
    if (raw === undefined) continue;
    const resolved = interpolateEnv(raw, env);
    if (!resolved.ok) {
      r.fail(e.value, resolved.message);
      continue;
    }
    if (resolved.refs.length === 0 && SECRET_HEADER_RE.test(e.key)) {
      r.fail(e.value, `header "${e.key}" carries a secret: secrets go in environment variables, write its value as "\${MY_HEADER_SECRET}" (or "Bearer \${MY_TOKEN}")`);
      continue;
    }
    if (/[\r\n]/.test(resolved.value)) {
      r.fail(e.value, 'a header value must not contain a line break');
      continue;
    }
    headers.push([e.key, resolved.value]);
    if (resolved.refs.length > 0) secret.push(e.key);
  }
  // fromEntries, not assignment: a header named "__proto__" stays a header.
  return { headers: Object.fromEntries(headers), secret };
}

function readTimeouts(r: YamlReader, loc: Located): Timeouts {
  const f = r.object(loc, TIMEOUT_KEYS) ?? {};
  const out: Timeouts = {};
  if (f.connect) out.connectMs = r.duration(f.connect);
  if (f.ttfb) out.ttfbMs = r.duration(f.ttfb);
  if (f.idle) out.idleMs = r.duration(f.idle);
  return out;
}

// ---- routing ----

/** `backup/gpt-4o-mini` → { provider, model }; the model part may itself contain "/" (OpenRouter). */
function readTarget(r: YamlReader, loc: Located, text: string, providers: readonly string[]): ModelTarget | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    return r.fail(loc, `"${text}" is not provider/model (providers: ${providers.join(', ')})`);
  }
  const provider = text.slice(0, slash);
  if (!providers.includes(provider)) {
    return r.fail(loc, `unknown provider "${provider}"${didYouMean(provider, providers)}; providers: ${providers.join(', ')}`);
  }
  return { provider, model: text.slice(slash + 1) };
}

function readModels(r: YamlReader, loc: Located, providers: readonly string[]): Record<string, ModelTarget[]> {
  const models: [string, ModelTarget[]][] = [];
  for (const e of r.entries(loc) ?? []) {
    const items = r.oneOrList(e.value);
    if (!items) continue;
    if (items.length === 0) {
      r.fail(e.value, 'needs at least one provider/model target');
      continue;
    }
    const targets: ModelTarget[] = [];
    for (const item of items) {
      const text = r.string(item);
      const t = text === undefined ? undefined : readTarget(r, item, text.trim(), providers);
      if (t) targets.push(t);
    }
    models.push([e.key, targets]);
  }
  // fromEntries defines own properties, so a model named "__proto__" or "constructor" is just a name.
  return Object.fromEntries(models);
}

function readRetries(r: YamlReader, loc: Located | undefined): number {
  if (!loc) return DEFAULT_RETRIES_PER_TARGET;
  const f = r.object(loc, ['perTarget']) ?? {};
  return f.perTarget ? (r.number(f.perTarget, { min: 0, max: 10, integer: true }) ?? DEFAULT_RETRIES_PER_TARGET) : DEFAULT_RETRIES_PER_TARGET;
}

function readCircuit(r: YamlReader, loc: Located): CircuitSettings {
  const f = r.object(loc, ['failures', 'cooldown']) ?? {};
  return {
    failures: f.failures ? (r.number(f.failures, { min: 0, max: 1000, integer: true }) ?? DEFAULT_CIRCUIT.failures) : DEFAULT_CIRCUIT.failures,
    cooldownMs: f.cooldown ? (r.duration(f.cooldown) ?? DEFAULT_CIRCUIT.cooldownMs) : DEFAULT_CIRCUIT.cooldownMs,
  };
}

function readPricing(r: YamlReader, loc: Located, providers: readonly string[]): Record<string, ModelPrice> {
  const prices: [string, ModelPrice][] = [];
  for (const e of r.entries(loc) ?? []) {
    const target = readTarget(r, e.keyAt, e.key, providers);
    const f = r.object(e.value, PRICE_KEYS, ['input', 'output']);
    if (!target || !f) continue;
    const num = (l: Located | undefined) => (l && !r.isAbsent(l) ? r.number(l, { min: 0, max: MAX_PRICE }) : undefined);
    const input = num(f.input);
    const output = num(f.output);
    const cachedInput = f.cachedInput ? num(f.cachedInput) : input;
    if (input === undefined || output === undefined || cachedInput === undefined) continue;
    prices.push([`${target.provider}/${target.model}`, { input, cachedInput, output }]);
  }
  return Object.fromEntries(prices);
}

// ---- agents ----

function readAgents(r: YamlReader, loc: Located): Record<string, AgentFileConfig> {
  const agents: [string, AgentFileConfig][] = [];
  for (const e of r.entries(loc) ?? []) {
    if (!NAME_RE.test(e.key)) r.fail(e.keyAt, `agent name "${e.key}": use letters, digits, ".", "_" and "-"`);
    if (r.isAbsent(e.value)) {
      agents.push([e.key, { policies: [] }]);
      continue;
    }
    const f = r.object(e.value, AGENT_KEYS) ?? {};
    const policies = f.policies ? readPolicies(r, f.policies) : [];
    let cache: AgentFileConfig['cache'];
    if (f.cache) {
      const c = r.object(f.cache, ['ttl'], ['ttl']);
      const ttlMs = c?.ttl && !r.isAbsent(c.ttl) ? r.duration(c.ttl) : undefined;
      if (ttlMs !== undefined) cache = { ttlMs };
    }
    agents.push([e.key, cache ? { policies, cache } : { policies }]);
  }
  return Object.fromEntries(agents);
}

/** `{ use: NAME, ...options }`: the options are the policy's own business, kept as plain values. */
function readPolicies(r: YamlReader, loc: Located): PolicyRef[] {
  const out: PolicyRef[] = [];
  for (const item of r.list(loc) ?? []) {
    const entries = r.entries(item);
    if (!entries) continue;
    const use = entries.find((e) => e.key === 'use');
    if (!use) {
      r.fail(item, 'missing "use" (the policy name, e.g. { use: pii-redact })');
      continue;
    }
    const name = r.string(use.value);
    if (name === undefined) continue;
    const options = Object.fromEntries(entries.filter((e) => e !== use).map((e) => [e.key, r.plain(e.value)]));
    out.push({ use: name, options });
  }
  return out;
}

// ---- gateway settings (issue 12) ----

function readRetention(r: YamlReader, loc: Located): FileSections['retention'] {
  const f = r.object(loc, ['traces', 'sessions']) ?? {};
  const out: { tracesMs?: number; sessionsMs?: number } = {};
  if (f.traces) out.tracesMs = r.duration(f.traces);
  if (f.sessions) out.sessionsMs = r.duration(f.sessions);
  return out;
}

function readPassthrough(r: YamlReader, loc: Located): string[] {
  const out: string[] = [];
  for (const item of r.list(loc) ?? []) {
    const p = r.string(item);
    if (p === undefined) continue;
    if (!PASSTHROUGH_RE.test(p) || p.split('/').includes('..')) {
      r.fail(item, `"${p}" is not a /v1/… path prefix (e.g. /v1/audio)`);
      continue;
    }
    out.push(p.replace(/\/+$/, ''));
  }
  return out;
}

function readCors(r: YamlReader, loc: Located): { origins: string[] } {
  const f = r.object(loc, ['origins'], ['origins']) ?? {};
  const origins: string[] = [];
  for (const item of (f.origins && r.list(f.origins)) || []) {
    const o = r.string(item);
    if (o === undefined) continue;
    if (o === '*') {
      origins.push(o);
      continue;
    }
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      /* reported below */
    }
    if (!origin || origin === 'null') r.fail(item, `"${o}" is not an origin like https://app.example.com (or "*")`);
    else if (origin !== o) r.fail(item, `"${o}" is not an origin (scheme://host[:port], no path)${origin ? ` (did you mean "${origin}"?)` : ''}`);
    else origins.push(o);
  }
  return { origins };
}

function readLimits(r: YamlReader, loc: Located): FileSections['limits'] {
  const f = r.object(loc, ['body', 'response']) ?? {};
  const out: { bodyBytes?: number; responseBytes?: number } = {};
  if (f.body) out.bodyBytes = r.size(f.body);
  if (f.response) out.responseBytes = r.size(f.response);
  return out;
}
