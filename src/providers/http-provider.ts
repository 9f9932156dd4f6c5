// A provider over one keep-alive undici Pool per upstream origin (compressed bodies are decoded by the
// caller, see pipeline/decode.ts). Separate timeouts: connect, time to response headers (TTFB), and
// the idle gap between body chunks — never a whole-request timeout, so a long stream that keeps
// producing is never cut. Retries are a small loop here rather than undici's retry interceptor
// (ADR 0008): `pool.request()` resolves at the response headers, so everything the loop sees happens
// before a response started, and nothing after it can be retried by construction.
//
// Keys come from the provider's pool (key-pool.ts): a key answered with a 429 or a quota error cools
// down and the next attempt uses another key at once; when every key is cooling the last answer goes
// back to the caller, whose fallback chain tries the next target.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { ForwardOptions, Provider, UpstreamRequest, UpstreamResponse } from './types.js';
import { retryAfterMs, retryDelayMs, type RetryPolicyOptions } from './openai/retry-policy.js';
import type { UpstreamSignal } from '../util/abort-emitter.js';
import { peekErrorCode } from './peek-error.js';
import { KeyPool, type KeyState } from './key-pool.js';
import { ProviderHealth, type HealthSnapshot } from './health.js';
import type { KindSpec } from './kinds.js';
import type { CircuitSettings, KeyStrategy, MaxTokensField, ProviderKind } from '../config/types.js';

export interface HttpProviderConfig {
  /** Registry id (the name under `providers:`), recorded in traces */
  id: string;
  kind: KindSpec;
  baseUrl: string;
  keys: readonly { value: string; masked: string; env?: string }[];
  keyStrategy: KeyStrategy;
  cooldownMs: number;
  apiVersion?: string;
  /** Extra headers sent on every request (never the caller's PAT) */
  headers: Readonly<Record<string, string>>;
  /** The chat field of a reply-size limit ibex translated; absent: max_completion_tokens */
  maxTokensField?: MaxTokensField;
}

export interface HttpProviderOptions {
  connections: number;
  connectTimeoutMs: number;
  ttfbTimeoutMs: number;
  idleTimeoutMs: number;
  retry: RetryPolicyOptions;
  /** Largest non-streaming answer read (bytes) */
  maxResponseBytes?: number;
  /** The circuit breaker (ibex.yaml `circuit`); absent: none */
  circuit?: CircuitSettings;
}

/** Error codes of a 429 or 403 that say the key (not the request) is out: cool it, use another. */
const KEY_EXHAUSTED_CODES = new Set(['insufficient_quota', 'rate_limit_exceeded', 'billing_hard_limit_reached', 'rate_limit_error']);

/** A 429 with one of these (or no) codes is a rate limit, worth a retry after a backoff: OpenAI's, Anthropic's. */
const RATE_LIMIT_CODES = new Set(['rate_limit_exceeded', 'rate_limit_error']);

export interface ProviderStatus {
  id: string;
  kind: ProviderKind;
  baseUrl: string;
  keyStrategy: KeyStrategy;
  keys: KeyState[];
  health: HealthSnapshot;
}

export class HttpProvider implements Provider {
  readonly id: string;
  readonly kind: KindSpec;
  readonly maxResponseBytes: number | undefined;
  readonly maxTokensField: MaxTokensField | undefined;
  readonly health: ProviderHealth;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly keys: KeyPool;
  private readonly fixedHeaders: Record<string, string>;

  constructor(
    private readonly config: HttpProviderConfig,
    private readonly opts: HttpProviderOptions,
  ) {
    this.id = config.id;
    this.kind = config.kind;
    this.maxResponseBytes = opts.maxResponseBytes;
    this.maxTokensField = config.maxTokensField;
    this.health = new ProviderHealth(opts.circuit);
    const base = new URL(config.baseUrl);
    const basePath = base.pathname.replace(/\/+$/, '');
    // Anthropic's paths carry their own /v1 (kinds.ts); a base URL copied with it must not double it.
    this.basePath = config.kind.kind === 'anthropic' ? basePath.replace(/\/v1$/, '') : basePath;
    this.keys = new KeyPool(config.keys, config.keyStrategy, config.cooldownMs);
    this.fixedHeaders = { 'content-type': 'application/json', ...lowerCaseNames(config.headers) };
    this.pool = new Pool(base.origin, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: opts.connectTimeoutMs },
      headersTimeout: opts.ttfbTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
    });
  }

  speaks(protocol: string): boolean {
    return this.kind.speaks.includes(protocol);
  }

  tripped(model: string, now: number): boolean {
    return this.health.tripped(model, now);
  }

  status(): ProviderStatus {
    return {
      id: this.id,
      kind: this.kind.kind,
      baseUrl: this.config.baseUrl,
      keyStrategy: this.config.keyStrategy,
      keys: this.keys.states(),
      health: this.health.snapshot(),
    };
  }

  async send(req: UpstreamRequest, opts: ForwardOptions): Promise<UpstreamResponse> {
    const path = this.basePath + this.kind.path(req.path, req.model ?? '', this.config.apiVersion);
    // A streamed upload can be sent once only: it is never retried.
    const replayable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
    const cooled = new Set<number>();
    // A pinned key (a stateful continuation) is used even while cooling: no other key can serve it.
    const pinned = opts.keyIndex !== undefined && opts.keyIndex >= 0 && opts.keyIndex < this.keys.size ? opts.keyIndex : null;
    for (let attempt = 1; ; attempt++) {
      const keyIndex = pinned ?? (this.keys.size > 0 ? this.keys.pick(cooled) : null);
      if (pinned !== null) this.keys.use(pinned);
      else if (this.keys.size > 0 && keyIndex === null) throw new AllKeysCoolingError(this.id);
      const headers: Record<string, string> = {
        ...req.headers,
        ...this.fixedHeaders,
        ...this.kind.authHeaders(keyIndex === null ? null : this.keys.value(keyIndex)),
        'x-request-id': opts.requestId,
      };
      if (req.body === undefined) delete headers['content-type'];
      else if (req.headers?.['content-type']) headers['content-type'] = req.headers['content-type'];
      for (const name of FLAG_LIST_HEADERS) {
        const own = this.fixedHeaders[name];
        const callers = req.headers?.[name];
        if (own && callers) headers[name] = joinFlagLists(own, callers);
      }
      const request = { method: req.method, path, headers, body: req.body as string | Buffer | undefined, signal: opts.signal };
      let res;
      try {
        res = await this.pool.request(request);
      } catch (err) {
        const delay = opts.signal.aborted || !replayable ? null : retryDelayMs(this.opts.retry, { error: err as Error }, attempt);
        if (delay === null) {
          if (!opts.signal.aborted) this.health.failure(null, (err as Error).message, req.model);
          throw err;
        }
        await pause(delay, opts.signal, err);
        continue;
      }
      if (res.statusCode < 400) {
        this.health.success(req.model);
        return { status: res.statusCode, headers: res.headers, body: res.body, keyIndex };
      }
      if (res.statusCode === 429 || res.statusCode === 402 || res.statusCode === 403) {
        // Is it the key (rate limit, quota)? Then cool it and try the next key at once.
        const peeked = await peekErrorCode(res);
        // Only a pool cools keys: a single key cooling would stop the provider for the whole cooldown.
        const keyOut =
          keyIndex !== null && pinned === null && this.keys.size > 1 && (res.statusCode === 429 || (peeked.code !== null && KEY_EXHAUSTED_CODES.has(peeked.code)));
        if (keyOut) {
          this.keys.cool(keyIndex, retryAfterMs(res.headers['retry-after']));
          cooled.add(keyIndex);
          if (replayable && !this.keys.exhausted()) {
            peeked.body.dump().catch(() => {});
            continue;
          }
        }
        // A 429 is retry-safe only when it is a rate limit: `insufficient_quota` (billing) will not pass on
        // retry. With one key (or none), a plain rate limit is retried after a backoff.
        const rateLimit = res.statusCode === 429 && (peeked.code === null || RATE_LIMIT_CODES.has(peeked.code));
        const delay = rateLimit && replayable && !keyOut ? retryDelayMs(this.opts.retry, { statusCode: res.statusCode, headers: res.headers }, attempt) : null;
        if (delay === null) {
          this.health.failure(res.statusCode, `HTTP ${res.statusCode}${peeked.code ? ` ${peeked.code}` : ''}`, req.model);
          return { status: res.statusCode, headers: peeked.headers, body: peeked.body, keyIndex };
        }
        peeked.body.dump().catch(() => {});
        await pause(delay, opts.signal, null);
        continue;
      }
      // A retryable status: unless retries are used up, drop this body and try again. Otherwise the
      // last response goes to the caller with its body (upstream error bodies are passed through).
      const delay = !replayable ? null : retryDelayMs(this.opts.retry, { statusCode: res.statusCode, headers: res.headers }, attempt);
      if (delay === null) {
        if (res.statusCode >= 500) this.health.failure(res.statusCode, `HTTP ${res.statusCode}`, req.model);
        else this.health.success(req.model);
        return { status: res.statusCode, headers: res.headers, body: res.body, keyIndex };
      }
      res.body.dump().catch(() => {});
      await pause(delay, opts.signal, null);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Every key of the provider is cooling after 429s or quota errors: the next fallback target serves. */
export class AllKeysCoolingError extends Error {
  readonly code = 'IBEX_ALL_KEYS_COOLING';
  constructor(readonly provider: string) {
    super(`every key of provider ${provider} is cooling down after rate limits or quota errors`);
  }
}

/** Waits `ms` before the next attempt; a client that leaves meanwhile ends the wait with an error. */
async function pause(ms: number, signal: UpstreamSignal, lastError: unknown): Promise<void> {
  if (signal.aborted) throw abortError(lastError);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(lastError));
    addAbort(signal, onAbort);
  });
  try {
    await Promise.race([sleep(ms, undefined, { ref: false }), aborted]);
  } finally {
    removeAbort(signal, onAbort!);
    aborted.catch(() => {});
  }
}

function abortError(cause: unknown): Error {
  const e = new Error('the request was aborted while waiting to retry', { cause });
  e.name = 'AbortError';
  return e;
}

function addAbort(signal: UpstreamSignal, fn: () => void): void {
  if ('addEventListener' in signal) signal.addEventListener('abort', fn, { once: true });
  else signal.once('abort', fn);
}

function removeAbort(signal: UpstreamSignal, fn: () => void): void {
  if ('removeEventListener' in signal) signal.removeEventListener('abort', fn);
  else signal.off('abort', fn);
}

/**
 * Feature-flag headers whose value is a comma-separated list (Anthropic's `anthropic-beta`, OpenAI's
 * `OpenAI-Beta`). When the provider's `headers:` and the caller both set one, both count: the
 * provider's flags, then the caller's not already there. Any other header the provider's `headers:`
 * sets replaces the caller's.
 */
const FLAG_LIST_HEADERS = ['anthropic-beta', 'openai-beta'] as const;

function joinFlagLists(...lists: string[]): string {
  const flags = new Set<string>();
  for (const list of lists) for (const flag of list.split(',')) if (flag.trim()) flags.add(flag.trim());
  return [...flags].join(',');
}

/** HTTP names are case-insensitive and `headers:` in ibex.yaml are written by hand: `OpenAI-Beta` and the caller's `openai-beta` are one header, sent once. */
function lowerCaseNames(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
