// Errors in Anthropic's shape: `{type:'error', error:{type, message}}`, the error type chosen from the
// HTTP status as Anthropic's API does. ibex's own stable `code` (the OpenAI-style code of the catalog,
// e.g. `invalid_api_key`, `upstream_timeout`) is kept visible as an extra `error.code` field (and
// `error.param` when there is one): Anthropic clients ignore unknown fields, scripts can switch on it.
import type { ProtocolErrorInput } from '../types.js';
import { sseEvent } from './sse.js';
import { isObject } from './wire.js';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; code?: string; param?: string };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  // The SDK's GatewayTimeoutErrorObject: Anthropic answers 504 with timeout_error.
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error');
}

export function renderError(e: ProtocolErrorInput): AnthropicErrorBody {
  const error: AnthropicErrorBody['error'] = { type: anthropicErrorType(e.status), message: e.message, code: e.code };
  if (e.param) error.param = e.param;
  return { type: 'error', error };
}

/** The bytes that end a started Messages stream with an in-band error (Anthropic's `error` event). */
export function streamErrorEvent(e: ProtocolErrorInput): string {
  return sseEvent('error', renderError(e));
}

// ---- Anthropic errors seen by OpenAI callers (translation through an Anthropic provider) ----

// OpenAI error types with the same meaning; the others become api_error.
const SHARED_TYPES = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error']);

/**
 * An Anthropic error body (a non-2xx reply or an `error` event) as the ProtocolErrorInput an
 * OpenAI-shaped renderer takes: the Anthropic error type becomes the `code` (e.g. `overloaded_error`),
 * the `type` is the matching OpenAI type or `api_error`.
 */
export function errorInputFromAnthropic(status: number, body: unknown): ProtocolErrorInput {
  const err = isObject(body) && isObject(body.error) ? body.error : {};
  const anthropicType = typeof err.type === 'string' ? err.type : anthropicErrorType(status);
  return {
    status,
    code: anthropicType,
    type: SHARED_TYPES.has(anthropicType) ? anthropicType : 'api_error',
    message: typeof err.message === 'string' ? err.message : `Provider returned ${status}`,
    param: null,
  };
}

/** An OpenAI in-stream error object (`{message, type, code}`) as the Anthropic error type it means. */
export function anthropicTypeFromOpenAI(type: unknown, code: unknown): string {
  if (typeof type === 'string' && SHARED_TYPES.has(type)) return type;
  if (code === 'rate_limit_exceeded' || code === 'upstream_rate_limited') return 'rate_limit_error';
  if (code === 'upstream_timeout') return 'timeout_error';
  return 'api_error';
}
