// Authentication before the body (issue 11, item 3). The token is checked in fastify's `onRequest`
// hook, which runs before any byte of the body is read: a caller without a valid PAT is answered 401
// at once, and its body is never buffered or parsed (a large one is not even read: ./unread-body.ts).
// So a flood of large bodies with bad tokens costs the gateway neither memory nor event-loop time.
//
// Rejected requests are counted in /metrics (`ibex_auth_rejected_total`) and traced at most once per
// client address per second (see UnauthenticatedTraceGate): a flood of bad tokens cannot fill the
// trace store.
import { performance } from 'node:perf_hooks';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { bearerToken } from '../auth/pat.js';
import { answerLeavingBodyUnread, hasLargeBody } from './unread-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by the auth hook before the handler runs (null before it). */
    principal: Principal | null;
    /** Time the auth hook took, attributed to the `auth` stage of the request. */
    authMs: number;

  }
}

/**
 * The PAT of a request: `Authorization: Bearer …` (OpenAI clients) or `x-api-key` (Anthropic
 * clients). Bearer wins when both are sent.
 */
export function credentialOf(headers: FastifyRequest['headers']): string | null {
  const bearer = bearerToken(headers.authorization);
  if (bearer !== null) return bearer;
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key.trim() : null;
}

export interface AuthHookDeps {
  /** Resolves the principal or throws IbexError('IBEX_ERR_INVALID_API_KEY'). */
  authenticate(token: string | null): Promise<Principal>;
  /** Called once per rejected request, before the 401 is sent. */
  onRejected(req: FastifyRequest, err: IbexError, authMs: number): void;
  /** The error body in the route's protocol; default: the OpenAI shape. */
  renderError?(req: FastifyRequest, err: IbexError): unknown;
}

export function decorateAuth(app: import('fastify').FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('authMs', 0);

}

export function authHook(deps: AuthHookDeps): onRequestAsyncHookHandler {
  return async function authenticateRequest(req, reply) {
    const t0 = performance.now();
    try {
      req.principal = await deps.authenticate(credentialOf(req.headers));
      req.authMs = performance.now() - t0;
    } catch (err) {
      const e = err instanceof IbexError ? err : new IbexError('IBEX_ERR_INTERNAL');
      req.authMs = performance.now() - t0;
      deps.onRejected(req, e, req.authMs);
      const body = deps.renderError ? deps.renderError(req, e) : e.toBody();
      if (hasLargeBody(req.headers)) return answerLeavingBodyUnread(reply.headers(e.headers), e.status, body);
      return reply.code(e.status).headers(e.headers).send(body);
    }
  };
}

/**
 * At most one trace per client address per second for requests that were not authenticated. The
 * addresses seen in the current second are kept in a bounded LRU: under a flood from more addresses
 * than it holds, an evicted address may be traced again within its second, which only errs towards
 * recording more, never unboundedly (at most `max` traces per second).
 */
export class UnauthenticatedTraceGate {
  private readonly lastSecond: LRUCache<string, number>;

  constructor(
    max = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSecond = new LRUCache({ max });
  }

  /** true when a trace for this address may be written now (and remembers it). */
  admit(address: string): boolean {
    const second = Math.floor(this.now() / 1000);
    if (this.lastSecond.get(address) === second) return false;
    this.lastSecond.set(address, second);
    return true;
  }
}
