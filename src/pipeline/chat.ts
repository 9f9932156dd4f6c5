// The chat completion pipeline, in the order of the critical path:
//   auth → agent → rate_limit → validate → directive → inject → route → forward → respond
// then, after the reply, checkpoint + trace (see record.ts). Each stage is a small function in its own
// file; this one only sequences them and turns failures into OpenAI-shaped replies.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { Agent, Directive, RateLimiter } from '../stores/ports.js';
import type { ProviderRegistry } from '../providers/index.js';
import { RequestContext } from './context.js';
import { AbortEmitter } from '../util/abort-emitter.js';
import { validateChatBody, validateSessionId } from './validate.js';
import { checkRateLimits } from './rate-limit.js';
import { injectDirective } from './inject.js';
import { forward } from './forward.js';
import { buildCheckpoint, buildTrace, markCutByShutdown, type Recorders } from './record.js';

export interface ChatDeps {
  verifyAgent(principal: Principal, requested: string | undefined): Promise<Agent>;
  rateLimiter: RateLimiter;
  resolveDirective(agent: string): Promise<Directive | null> | Directive | null;
  /** Session ownership (src/sessions/owners.ts): a named id is claimed before forwarding, a generated one in the background. */
  sessions: {
    claim(sessionId: string, agent: string, patId: string, at: number): Promise<void> | void;
    claimNew(sessionId: string, agent: string, patId: string, at: number): void;
  };
  providers: ProviderRegistry;
  recorders: Recorders;
  /** Tracks in-flight requests for graceful shutdown */
  inflight: { add(p: Promise<unknown>): void };
  /** True once shutdown closes the connections still open after the drain: who ended a request */
  shuttingDown?(): boolean;
  /** Where unexpected failures (bugs) are reported; expected errors are in traces, not logs */
  logError(message: string, err: unknown): void;
}

export function newSessionId(): string {
  return 'ses_' + randomUUID().replaceAll('-', '');
}

export function createChatHandler(deps: ChatDeps) {
  return function handleChat(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const p = runChat(deps, req, reply);
    deps.inflight.add(p);
    return p;
  };
}

async function runChat(deps: ChatDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  // The auth hook ran before the body was read: its time counts in the overhead, the body upload in
  // between (the caller's network) does not.
  const ctx = new RequestContext(req.id, String(reply.getHeader('x-request-id') ?? req.id), performance.now() - req.authMs);
  ctx.bytesIn = Number(req.headers['content-length'] ?? 0) || 0;
  const headers: Record<string, string> = {};
  const abort = new AbortEmitter();
  const onClose = () => {
    if (!reply.raw.writableFinished) {
      if (deps.shuttingDown?.()) markCutByShutdown(ctx);
      else ctx.clientAborted = true;
      abort.abort();
    }
  };
  reply.raw.once('close', onClose);

  try {
    // The auth hook (src/server/auth-hook.ts) authenticated the caller before the body was read.
    const principal = req.principal;
    if (!principal) throw new IbexError('IBEX_ERR_INVALID_API_KEY');
    ctx.principal = principal;
    ctx.stages.auth = req.authMs;
    ctx.begin();

    const agentHeader = req.headers['x-ibex-agent'];
    const agent = await deps.verifyAgent(principal, typeof agentHeader === 'string' ? agentHeader : undefined);
    ctx.agent = agent;
    ctx.end('agent');

    const limitHeaders = await checkRateLimits(deps.rateLimiter, {
      patId: principal.patId,
      patRpm: principal.rpm,
      agent: agent.name,
      agentRpm: agent.rpm,
    });
    if (limitHeaders) Object.assign(headers, limitHeaders);
    ctx.end('rate_limit');

    const body = validateChatBody(req.body);
    const sessionHeader = req.headers['x-ibex-session'];
    if (typeof sessionHeader === 'string') {
      ctx.sessionId = validateSessionId(sessionHeader);
      const owned = deps.sessions.claim(ctx.sessionId, agent.name, principal.patId, ctx.startedAt);
      if (owned) await owned;
    } else {
      ctx.sessionId = newSessionId();
      deps.sessions.claimNew(ctx.sessionId, agent.name, principal.patId, ctx.startedAt);
    }
    headers['x-ibex-session'] = ctx.sessionId;
    ctx.model = body.model;
    ctx.stream = body.stream === true;
    ctx.end('validate');

    const r = deps.resolveDirective(agent.name);
    const directive = r instanceof Promise ? await r : r;
    ctx.directive = directive;
    if (directive) headers['x-ibex-directive-version'] = String(directive.version);
    ctx.end('directive');

    const routed = deps.providers.route(body.model);
    ctx.provider = routed.provider.id;
    ctx.end('route');

    const messages = injectDirective(body.messages, directive);
    ctx.messages = messages;
    // One serialisation of the outgoing body; the rest of the caller's fields pass through as they came.
    const outgoing = serialiseOutgoing(routed.model === body.model ? { ...body, messages } : { ...body, model: routed.model, messages });
    ctx.end('inject');

    const result = await forward(ctx, routed.provider, outgoing, abort, () => {
      // Streaming: headers go out as soon as the provider answered; Server-Timing then carries the
      // overhead so far (the full figure is in the trace and /metrics).
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': ctx.correlationId,
        'server-timing': serverTiming(ctx),
      });
      // No flushHeaders(): the headers leave with the first chunk, one write instead of two.
      return raw;
    });
    ctx.begin();

    if (result.json) {
      ctx.status = 200;
      await reply
        .code(200)
        .headers(headers)
        .header('content-type', 'application/json')
        .header('server-timing', serverTiming(ctx))
        .send(result.json);
      ctx.end('respond');
    }
  } catch (err) {
    ctx.begin();
    await sendError(ctx, reply, headers, err, deps.logError);
    ctx.end('respond');
  } finally {
    reply.raw.off('close', onClose);
    finish(deps.recorders, ctx);
  }
}

async function sendError(
  ctx: RequestContext,
  reply: FastifyReply,
  headers: Record<string, string>,
  err: unknown,
  logError: ChatDeps['logError'],
): Promise<void> {
  let status: number;
  let body: unknown;
  let extra: Record<string, string> = {};
  if (err instanceof IbexError) {
    status = err.status;
    body = err.toBody();
    extra = err.headers;
    ctx.errorCode = err.code;
  } else if (err instanceof UpstreamPassthroughError) {
    status = err.status;
    body = err.toBody();
    ctx.errorCode = err.code;
  } else {
    const e = new IbexError('IBEX_ERR_INTERNAL');
    status = e.status;
    body = e.toBody();
    ctx.errorCode = e.code;
    logError(`chat pipeline failed (request ${ctx.requestId})`, err);
  }
  ctx.status = status;
  if (ctx.clientAborted || reply.raw.destroyed || reply.sent) return;
  await reply
    .code(status)
    .headers(headers)
    .headers(extra)
    .header('server-timing', serverTiming(ctx))
    .send(body);
}

/** JSON.parse is iterative but JSON.stringify recurses: a body nested thousands deep parses, then cannot be re-serialised. */
function serialiseOutgoing(body: object): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request body is nested too deeply.', param: 'messages' });
    }
    throw err;
  }
}

function serverTiming(ctx: RequestContext): string {
  const now = performance.now();
  let s = `overhead;dur=${ctx.overheadMs(now).toFixed(3)}`;
  const ttfb = ctx.ttfbMs();
  if (ttfb !== null) s += `, upstream;dur=${ctx.upstreamMs(now).toFixed(3)}`;
  return s;
}

function finish(recorders: Recorders, ctx: RequestContext): void {
  if (ctx.clientAborted && ctx.status < 400) ctx.status = 499;
  const now = performance.now();
  const trace = buildTrace(ctx, now);
  recorders.trace(trace);
  const cp = buildCheckpoint(ctx);
  if (cp) recorders.checkpoint(cp);
  recorders.observe?.(trace, ctx);
}
