// A provider over one keep-alive undici Pool per upstream origin (compressed bodies are decoded by the
// caller, see pipeline/decode.ts). Separate timeouts: connect, time to response headers (TTFB), and
// the idle gap between body chunks — never a whole-request timeout, so a long stream that keeps
// producing is never cut. Retries are a small loop here rather than undici's retry interceptor
// (ADR 0008): `pool.request()` resolves at the response headers, so everything the loop sees happens
// before a response started, and nothing after it can be retried by construction.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { ForwardOptions, Provider, ProviderConfig, UpstreamRequest, UpstreamResponse } from './types.js';
import { peekErrorCode } from './peek-error.js';
import { retryDelayMs, type RetryPolicyOptions } from './openai/retry-policy.js';
import type { UpstreamSignal } from '../util/abort-emitter.js';

export interface HttpProviderOptions {
  connections: number;
  connectTimeoutMs: number;
  ttfbTimeoutMs: number;
  idleTimeoutMs: number;
  retry: RetryPolicyOptions;
  /** Largest non-streaming answer read (bytes) */
  maxResponseBytes?: number;
}

export class HttpProvider implements Provider {
  readonly id: string;
  readonly maxResponseBytes: number | undefined;
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(
    private readonly config: ProviderConfig,
    private readonly opts: HttpProviderOptions,
  ) {
    this.id = config.id;
    this.maxResponseBytes = opts.maxResponseBytes;
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: opts.connectTimeoutMs },
      headersTimeout: opts.ttfbTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
    });
  }

  async send(req: UpstreamRequest, opts: ForwardOptions): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...req.headers, ...this.config.headers(), 'x-request-id': opts.requestId };
    if (req.body === undefined) delete headers['content-type'];
    else if (req.headers?.['content-type']) headers['content-type'] = req.headers['content-type'];
    // A streamed upload can be sent once only: it is never retried.
    const replayable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
    const request = { method: req.method, path: this.basePath + req.path, headers, body: req.body as string | Buffer | undefined, signal: opts.signal };
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await this.pool.request(request);
      } catch (err) {
        const delay = opts.signal.aborted || !replayable ? null : retryDelayMs(this.opts.retry, { error: err as Error }, attempt);
        if (delay === null) throw err;
        await pause(delay, opts.signal, err);
        continue;
      }
      // A retryable status: unless retries are used up, drop this body and try again. Otherwise the
      // last response goes to the caller with its body (upstream error bodies are passed through).
      let delay = res.statusCode < 400 || !replayable ? null : retryDelayMs(this.opts.retry, { statusCode: res.statusCode, headers: res.headers }, attempt);
      if (delay !== null && res.statusCode === 429) {
        // A 429 is retry-safe only when it is a rate limit: `insufficient_quota` (billing) will not
        // pass on retry, and the caller must see it as it is.
        const peeked = await peekErrorCode(res);
        if (peeked.code !== null && peeked.code !== 'rate_limit_exceeded') delay = null;
        if (delay === null) return { status: res.statusCode, headers: peeked.headers, body: peeked.body };
      }
      if (delay === null) return { status: res.statusCode, headers: res.headers, body: res.body };
      res.body.dump().catch(() => {});
      await pause(delay, opts.signal, null);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
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
