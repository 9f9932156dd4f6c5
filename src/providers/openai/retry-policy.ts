// When to retry an upstream call. Used by undici's retry interceptor, which only ever retries before
// the response was handed to us (no content-length → no mid-body resume), so a retry can never follow
// bytes already sent to the client.
import type { RetryHandler } from 'undici';

export interface RetryPolicyOptions {
  maxRetries: number;
  /** First backoff; doubles per attempt */
  minDelayMs: number;
  /** A 429 whose retry-after is longer than this is not retried: the caller gets it at once */
  maxRetryAfterMs: number;
}

/**
 * Set (by http-provider's markAfterResponseStart interceptor) on an error raised after the upstream's
 * response headers arrived. undici's RetryHandler treats every 2xx as resumable and would re-send the
 * request with a `range` header; for an LLM that is a second generation, so such errors are never retried.
 */
export const AFTER_RESPONSE_START = Symbol('ibex.afterResponseStart');

export const RETRY_STATUS_CODES = [502, 503, 429];
export const RETRY_ERROR_CODES = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'];

export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function createRetryPolicy(opts: RetryPolicyOptions): RetryHandler.RetryCallback {
  return (err, { state }, cb) => {
    const e = err as Error & { statusCode?: number; code?: string; headers?: Record<string, string | string[]> };
    if ((err as { [AFTER_RESPONSE_START]?: boolean })[AFTER_RESPONSE_START]) return cb(err);
    if (state.counter > opts.maxRetries) return cb(err);
    if (e.statusCode !== undefined) {
      if (!RETRY_STATUS_CODES.includes(e.statusCode)) return cb(err);
    } else if (!e.code || !RETRY_ERROR_CODES.includes(e.code)) {
      return cb(err);
    }
    let delay = opts.minDelayMs * 2 ** Math.max(0, state.counter - 1);
    const ra = retryAfterMs(e.headers?.['retry-after']);
    if (ra !== null) {
      if (ra > opts.maxRetryAfterMs) return cb(err);
      delay = Math.max(delay, ra);
    }
    setTimeout(() => cb(null), delay).unref();
  };
}
