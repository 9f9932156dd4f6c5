// The typed shape of `ibex.yaml` after validation, defaults applied and `${ENV}` references resolved.
// The same shape comes from `defaultsFromEnv()` when there is no file, so the gateway has one code
// path. Durations are milliseconds and sizes bytes; the field names say so.
//
// Settings that also exist as env variables or flags (limits, timeouts, retention) stay `undefined`
// when the file does not set them, so the caller can apply flag > env > file > default.

export type ProviderKind = 'openai' | 'azure-openai' | 'anthropic';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['openai', 'azure-openai', 'anthropic'];

export type KeyStrategy = 'round_robin' | 'priority';
export const KEY_STRATEGIES: readonly KeyStrategy[] = ['round_robin', 'priority'];

/**
 * Which chat completions field carries a reply-size limit ibex translated (an Anthropic `max_tokens`,
 * a Responses `max_output_tokens`): OpenAI's `max_completion_tokens` (its reasoning models refuse the
 * older field), or `max_tokens` for an OpenAI-compatible server that only reads that one.
 */
export type MaxTokensField = 'max_completion_tokens' | 'max_tokens';
export const MAX_TOKENS_FIELDS: readonly MaxTokensField[] = ['max_completion_tokens', 'max_tokens'];

/**
 * One upstream key. `value` is the resolved secret; it is a non-enumerable property, so
 * `JSON.stringify`, `util.inspect` and object spread never carry it (they show `masked`).
 */
export interface ProviderKey {
  /** The environment variable it came from (`OPENAI_API_KEY`) */
  readonly env: string;
  /** Like `sk-…abcd`, safe to log */
  readonly masked: string;
  /** The secret itself: only for the Authorization header, never for logs */
  readonly value: string;
}

export interface Timeouts {
  connectMs?: number;
  /** Until the provider's response headers */
  ttfbMs?: number;
  /** Longest gap between two body chunks */
  idleMs?: number;
}

export interface ProviderFileConfig {
  /** The name under `providers:`; the prefix in `provider/model` */
  readonly name: string;
  readonly kind: ProviderKind;
  /** Without trailing slash */
  readonly baseUrl: string;
  /** The key pool, in file order (the order matters for `priority`) */
  readonly keys: readonly ProviderKey[];
  readonly keyStrategy: KeyStrategy;
  /** How long a key is left out of the pool after a 429 or a quota-style failure */
  readonly cooldownMs: number;
  /** Azure `api-version` query parameter */
  readonly apiVersion?: string;
  /** Extra headers sent upstream, `${ENV}` resolved */
  readonly headers: Readonly<Record<string, string>>;
  /** Names of `headers` whose value came from an env reference (masked in describe()) */
  readonly secretHeaders: readonly string[];
  readonly timeouts: Readonly<Timeouts>;
  readonly promptCache?: boolean;
  /** Kinds openai and azure-openai; absent: `max_completion_tokens` */
  readonly maxTokensField?: MaxTokensField;
}

export interface ModelTarget {
  readonly provider: string;
  readonly model: string;
}

export interface ModelPrice {
  /** USD per 1M input tokens */
  readonly input: number;
  /** USD per 1M cached input tokens; `input` when the file does not say */
  readonly cachedInput: number;
  /** USD per 1M output tokens */
  readonly output: number;
}

/** `{ use: pii-redact, on: [request] }` → `{ use: 'pii-redact', options: { on: ['request'] } }` */
export interface PolicyRef {
  readonly use: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface AgentFileConfig {
  readonly policies: readonly PolicyRef[];
  readonly cache?: { readonly ttlMs: number };
}

export interface IbexFileConfig {
  /** 'file' when read from `path`, 'env' when built by defaultsFromEnv() */
  readonly origin: 'file' | 'env';
  readonly path: string | null;
  /** In file order: the first one takes models that name no known provider */
  readonly providers: readonly ProviderFileConfig[];
  /** 'file' when the file has a `providers:` section; 'env' when they are the one `openai` provider of IBEX_UPSTREAM_URL / OPENAI_API_KEY */
  readonly providersOrigin: 'file' | 'env';
  /** Public names and aliases → ordered fallback chain */
  readonly models: Readonly<Record<string, readonly ModelTarget[]>>;
  readonly retries: { readonly perTarget: number };
  /** When a provider that keeps failing is tried last in its chains (src/providers/health.ts) */
  readonly circuit: CircuitSettings;
  /** Keyed by `provider/model` */
  readonly pricing: Readonly<Record<string, ModelPrice>>;
  readonly agents: Readonly<Record<string, AgentFileConfig>>;
  readonly retention: { readonly tracesMs?: number; readonly sessionsMs?: number };
  /** `/v1/*` path prefixes forwarded as they are */
  readonly passthrough: readonly string[];
  readonly cors?: { readonly origins: readonly string[] };
  readonly limits: { readonly bodyBytes?: number; readonly responseBytes?: number };
  /** Gateway-wide upstream timeouts; a provider's own `timeouts` win */
  readonly timeouts: Readonly<Timeouts>;
}

/**
 * The circuit breaker of every provider: after `failures` consecutive outage-like failures (no
 * connection, a timeout, a 5xx, after the target's retries) the provider goes last in every fallback
 * chain for `cooldownMs`; `failures: 0` turns it off.
 */
export interface CircuitSettings {
  readonly failures: number;
  readonly cooldownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitSettings = { failures: 3, cooldownMs: 30_000 };

export const DEFAULT_PASSTHROUGH: readonly string[] = ['/v1/audio', '/v1/images'];
export const DEFAULT_COOLDOWN_MS = 60_000;
/** Same as the provider's built-in retry count (src/providers/index.ts) */
export const DEFAULT_RETRIES_PER_TARGET = 2;
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
