// The core request path, the same for every inbound protocol (src/protocols/<wire-format>/), in the
// order of the critical path:
//   auth (hook) → agent → rate_limit → validate → session → directive → inject → route → forward → respond
// then, after the reply, checkpoint + trace (see record.ts). What differs between protocols (body
// shape, where the directive goes, how a reply is read, how an error looks) is asked of the protocol;
// this file only sequences the stages and knows no wire format.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { Agent, Directive, RateLimiter } from '../stores/ports.js';
import type { ProviderRegistry } from '../providers/index.js';
import { RequestContext } from './context.js';
import { AbortEmitter } from '../util/abort-emitter.js';
import { validateSessionId } from './validate.js';
import { checkRateLimits } from './rate-limit.js';
import { forward, type UpstreamHeaders } from './forward.js';
import type { InboundProtocol, ProtocolErrorInput } from '../protocols/types.js';
import { passthroughHeaders } from './passthrough-headers.js';
import type { ResponseSessions } from '../sessions/response-links.js';
import { buildCheckpoint, buildTrace, markCutByShutdown, type Recorders } from './record.js';
import type { SpendGuard, SpendHold } from '../usage/guard.js';

export interface PipelineDeps {
  verifyAgent(principal: Principal, requested: string | undefined): Promise<Agent>;
  rateLimiter: RateLimiter;
  /** Token limits, budgets and cost (src/usage); absent: no budgets and no cost in records */
  spend?: SpendGuard;
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
  /** Which session a provider reply id (`resp_…`) belongs to, for `previous_response_id` */
  responseSessions: ResponseSessions;
}

export function newSessionId(): string {
  return 'ses_' + randomUUID().replaceAll('-', '');
}

/** The fastify handler of one inbound protocol's route. */
export function createProtocolHandler(deps: PipelineDeps, protocol: InboundProtocol<never>) {
  return function handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const p = run(deps, protocol as unknown as InboundProtocol, req, reply);
    deps.inflight.add(p);
    return p;
  };
}

async function run(deps: PipelineDeps, protocol: InboundProtocol, req: FastifyRequest, reply: FastifyReply): Promise<void> {
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
  let hold: SpendHold | null = null;

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
    if (deps.spend) {
      // Tokens per minute and budgets: the estimate is held before forwarding (a fallback model, when
      // one applies, replaces the body's model here), the real spend replaces it in finish().
      const spent = await deps.spend.reserve({ agent, pat: { id: principal.patId, limits: principal.limits }, body: req.body, bodyBytes: ctx.bytesIn });
      hold = spent.hold;
      Object.assign(headers, spent.headers);
    }
    ctx.end('rate_limit');

    const parsed = protocol.parseRequest(req.body);
    // Asks the provider for what ibex records (usage on every stream); the filter hides it from the caller.
    const prepared = protocol.prepareUpstream?.(parsed.body);
    const body = prepared?.body ?? parsed.body;
    ctx.streamFilter = prepared?.strip ?? null;
    ctx.model = parsed.model;
    ctx.stream = parsed.stream;
    ctx.end('validate');

    // Only conversations (protocols whose turns are checkpointed) have sessions.
    const conversation = protocol.recordedMessages !== undefined;
    if (conversation) {
      const sessionHeader = req.headers['x-ibex-session'];
      const linked = typeof sessionHeader === 'string' ? null : protocol.sessionLink?.(body);
      const named = typeof sessionHeader === 'string' ? validateSessionId(sessionHeader) : linked ? deps.responseSessions.get(linked) : undefined;
      if (named !== undefined) {
        ctx.sessionId = named;
        const owned = deps.sessions.claim(ctx.sessionId, agent.name, principal.patId, ctx.startedAt);
        if (owned) await owned;
      } else {
        ctx.sessionId = newSessionId();
        deps.sessions.claimNew(ctx.sessionId, agent.name, principal.patId, ctx.startedAt);
      }
      headers['x-ibex-session'] = ctx.sessionId;
      ctx.end('session');
    }

    let directive: Directive | null = null;
    if (protocol.placeDirective) {
      const r = deps.resolveDirective(agent.name);
      directive = r instanceof Promise ? await r : r;
      ctx.directive = directive;
      if (directive) headers['x-ibex-directive-version'] = String(directive.version);
      ctx.end('directive');
    }

    const routed = deps.providers.route(parsed.model);
    ctx.provider = routed.provider.id;
    ctx.servedModel = routed.model || null;
    headers['x-ibex-provider'] = routed.provider.id;
    if (routed.model) headers['x-ibex-served-model'] = routed.model;
    ctx.end('route');

    const placed = protocol.placeDirective ? protocol.placeDirective(body, directive?.text ?? null) : body;
    ctx.messages = protocol.recordedMessages?.(placed) ?? null;
    // One serialisation of the outgoing body; the rest of the caller's fields pass through as they came.
    const outgoing = serialiseOutgoing(routed.model === parsed.model || !routed.model ? placed : { ...placed, model: routed.model });
    ctx.end('inject');

    const result = await forward(
      ctx,
      protocol as InboundProtocol<never>,
      routed.provider,
      outgoing,
      abort,
      (upstreamHeaders) => {
        // Streaming: headers go out as soon as the provider answered; Server-Timing then carries the
        // overhead so far (the full figure is in the trace and /metrics).
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          ...passthroughHeaders(upstreamHeaders, headers),
          ...headers,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-request-id': ctx.correlationId,
          'server-timing': serverTiming(ctx),
        });
        // No flushHeaders(): the headers leave with the first chunk, one write instead of two.
        return raw;
      },
      (upstreamHeaders: UpstreamHeaders) => Object.assign(headers, passthroughHeaders(upstreamHeaders, headers)),
    );
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
    await sendError(ctx, protocol, reply, headers, err, deps.logError);
    ctx.end('respond');
  } finally {
    reply.raw.off('close', onClose);
    if (ctx.responseId && ctx.sessionId) deps.responseSessions.set(ctx.responseId, ctx.sessionId);
    finish(deps, ctx, hold);
  }
}

async function sendError(
  ctx: RequestContext,
  protocol: InboundProtocol,
  reply: FastifyReply,
  headers: Record<string, string>,
  err: unknown,
  logError: PipelineDeps['logError'],
): Promise<void> {
  let e: ProtocolErrorInput;
  let extra: Record<string, string> = {};
  if (err instanceof IbexError) {
    e = { status: err.status, code: err.code, type: err.type, message: err.message, param: err.param };
    extra = err.headers;
  } else if (err instanceof UpstreamPassthroughError) {
    const b = err.body.error;
    e = { status: err.status, code: err.code, type: b.type, message: b.message, param: b.param };
    extra = err.headers;
  } else {
    const internal = new IbexError('IBEX_ERR_INTERNAL');
    e = { status: internal.status, code: internal.code, type: internal.type, message: internal.message, param: null };
    logError(`${protocol.name} pipeline failed (request ${ctx.requestId})`, err);
  }
  ctx.errorCode = e.code;
  ctx.status = e.status;
  if (ctx.clientAborted || reply.raw.destroyed || reply.sent) return;
  await reply
    .code(e.status)
    .headers(headers)
    .headers(extra)
    .header('server-timing', serverTiming(ctx))
    .send(protocol.renderError(e));
}

/** JSON.parse is iterative but JSON.stringify recurses: a body nested thousands deep parses, then cannot be re-serialised. */
function serialiseOutgoing(body: object): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request body is nested too deeply.', param: 'body' });
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

function finish(deps: PipelineDeps, ctx: RequestContext, hold: SpendHold | null): void {
  const recorders: Recorders = deps.recorders;
  if (ctx.clientAborted && ctx.status < 400) ctx.status = 499;
  if (deps.spend) {
    ctx.costUsd = deps.spend.settle(hold, {
      usage: ctx.usage,
      provider: ctx.provider,
      model: ctx.servedModel ?? ctx.model,
      answered: ctx.upstreamHeaders !== null && (ctx.status < 400 || ctx.clientAborted),
    });
  }
  const now = performance.now();
  const trace = buildTrace(ctx, now);
  recorders.trace(trace);
  const cp = buildCheckpoint(ctx);
  if (cp) recorders.checkpoint(cp);
  recorders.observe?.(trace, ctx);
}
