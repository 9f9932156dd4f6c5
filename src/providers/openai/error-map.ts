// Upstream error mapping (seed milestone 2.1.5): what the caller sees when the provider fails.
// 4xx bodies are passed through with their status (the provider's message is the useful one), except
// credential failures, which are the gateway's fault (its OPENAI_API_KEY), not the caller's.
import { IbexError, UpstreamPassthroughError, type OpenAIErrorBody } from '../../errors.js';
import { retryAfterMs } from './retry-policy.js';
import { redact } from '../../log.js';

export function mapUpstreamStatus(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): IbexError | UpstreamPassthroughError {
  // Providers quote the key they were sent in auth errors (OpenAI masks all but 4 characters, others
  // nothing): no secret of the gateway may reach a caller through a relayed message.
  bodyText = redact(bodyText);
  const upstreamBody = parseErrorBody(bodyText);
  const upstreamMessage = upstreamBody?.error.message;
  if (status === 401 || status === 403) {
    return new IbexError('IBEX_ERR_UPSTREAM_AUTH', { message: `Provider returned ${status}: ${upstreamMessage ?? 'unauthorized'}` });
  }
  if (status === 429 && upstreamBody?.error.code && upstreamBody.error.code !== 'rate_limit_exceeded') {
    // Not a rate limit (e.g. `insufficient_quota`): the provider's own code is what the caller needs.
    const ra = headers['retry-after'];
    return new UpstreamPassthroughError(429, upstreamBody, typeof ra === 'string' ? { 'retry-after': ra } : {});
  }
  if (status === 429) {
    const ra = retryAfterMs(headers['retry-after']);
    return new IbexError('IBEX_ERR_UPSTREAM_RATE_LIMITED', {
      message: upstreamMessage ? `Provider rate limit: ${upstreamMessage}` : undefined,
      headers: ra !== null ? { 'retry-after': String(Math.ceil(ra / 1000)) } : {},
    });
  }
  if (status >= 400 && status < 500) {
    const body: OpenAIErrorBody = upstreamBody ?? {
      error: { message: bodyText.slice(0, 500) || `Provider returned ${status}`, type: 'invalid_request_error', code: null, param: null },
    };
    return new UpstreamPassthroughError(status, body);
  }
  return new IbexError('IBEX_ERR_UPSTREAM', { message: `Provider returned ${status}${upstreamMessage ? `: ${upstreamMessage}` : ''}` });
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A thrown error from the HTTP client (no response, or the body failed). */
export function mapUpstreamException(err: unknown): IbexError {
  const code = (err as { code?: string })?.code;
  if (code === 'IBEX_ALL_KEYS_COOLING') {
    return new IbexError('IBEX_ERR_UPSTREAM_RATE_LIMITED', { message: `The provider's keys are all cooling down after rate limits or quota errors.`, cause: err });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    const what = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect' : code === 'UND_ERR_HEADERS_TIMEOUT' ? 'first byte' : 'next chunk';
    return new IbexError('IBEX_ERR_UPSTREAM_TIMEOUT', { message: `The provider timed out waiting for the ${what}.`, cause: err });
  }
  return new IbexError('IBEX_ERR_UPSTREAM', { message: `Could not reach the provider (${code ?? 'network error'}).`, cause: err });
}

function parseErrorBody(text: string): OpenAIErrorBody | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } };
    if (v && typeof v === 'object' && v.error && typeof v.error === 'object') {
      return {
        error: {
          message: typeof v.error.message === 'string' ? v.error.message : 'Provider error',
          type: typeof v.error.type === 'string' ? v.error.type : 'invalid_request_error',
          code: typeof v.error.code === 'string' ? v.error.code : null,
          param: typeof v.error.param === 'string' ? v.error.param : null,
        },
      };
    }
  } catch {
    // not JSON: the caller wraps the text
  }
  return null;
}
