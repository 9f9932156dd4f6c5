// Checks of the pipeline's own headers (X-Ibex-Session, X-Request-Id). Body shapes are each protocol's
// (src/protocols/<wire-format>/parse.ts).
import { IbexError } from '../errors.js';

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

const SESSION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** X-Ibex-Session: a client-chosen or previously returned id. */
export function validateSessionId(value: string): string {
  if (!SESSION_ID_RE.test(value)) {
    throw bad('X-Ibex-Session must be 1–128 characters of letters, digits, `.`, `_`, `:` or `-`.', 'X-Ibex-Session');
  }
  return value;
}

const REQUEST_ID_RE = /^[\x21-\x7e]{1,200}$/;

/** An incoming X-Request-Id is echoed only if it is printable ASCII of sane length; else a new one is made. */
export function acceptRequestId(value: string | undefined): string | null {
  return value !== undefined && REQUEST_ID_RE.test(value) ? value : null;
}
