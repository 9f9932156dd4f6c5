// When to retry an upstream call, and after how long. Used by http-provider's retry loop, which only
// ever retries before the response was handed to us: an error or a retryable status that arrives
// with the response headers. Once headers are back, the body belongs to the caller and nothing is
// retried (a second attempt at an LLM call is a second, billed generation; ADR 0002, ADR 0008).

export interface RetryPolicyOptions {
  maxRetries: number;
  /** First backoff; doubles per attempt */
  minDelayMs: number;
  /** A 429 whose retry-after is longer than this is not retried: the caller gets it at once */
  maxRetryAfterMs: number;
}

export const RETRY_STATUS_CODES: readonly number[] = [502, 503, 429];
export const RETRY_ERROR_CODES: readonly string[] = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'];

export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** What went wrong with one attempt: an error before any response, or a response's status and headers. */
export type AttemptFailure =
  | { error: Error & { code?: string } }
  | { statusCode: number; headers: Record<string, string | string[] | undefined> };

/**
 * The wait before attempt `attempt + 1` (attempts count from 1), or null: do not retry, hand the
 * failure to the caller.
 */
export function retryDelayMs(opts: RetryPolicyOptions, failure: AttemptFailure, attempt: number): number | null {
  if (attempt > opts.maxRetries) return null;
  let retryAfter: number | null = null;
  if ('error' in failure) {
    const code = failure.error.code;
    if (!code || !RETRY_ERROR_CODES.includes(code)) return null;
  } else {
    if (!RETRY_STATUS_CODES.includes(failure.statusCode)) return null;
    retryAfter = retryAfterMs(failure.headers['retry-after']);
  }
  const backoff = opts.minDelayMs * 2 ** (attempt - 1);
  if (retryAfter === null) return backoff;
  if (retryAfter > opts.maxRetryAfterMs) return null;
  return Math.max(backoff, retryAfter);
}
