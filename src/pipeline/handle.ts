// The core request path, the same for every inbound protocol (src/protocols/<wire-format>/), in the
// order of the critical path:
//   auth (hook) → agent → rate_limit → validate → session → directive → inject → route → forward → respond
// then, after the reply, checkpoint + trace (see record.ts). What differs between protocols (body
// shape, where the directive goes, how a reply is read, how an error looks) is asked of the protocol;
// this file only sequences the stages and knows no wire format.
import { timeOrderedHex32 } from '../util/time-ordered-id.js';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { Agent, Directive, RateLimiter } from '../stores/ports.js';
import type { ServedDirective } from '../directives/resolver.js';
import type { ProviderRegistry } from '../providers/index.js';
import { RequestContext } from './context.js';
import { AbortEmitter } from '../util/abort-emitter.js';
import { validateSessionId } from './validate.js';
import { checkRateLimits } from './rate-limit.js';
import { forward, type ForwardResult, type UpstreamHeaders } from './forward.js';
import { errorCodeOf, retrySafe, serialiseOutgoing, unsupported, upstreamCall } from './fallback.js';
import type { InboundProtocol, ProtocolErrorInput } from '../protocols/types.js';
import { passthroughHeaders } from './passthrough-headers.js';
import { callerHeaders } from './caller-headers.js';
import type { ResponseLinks } from '../sessions/response-links.js';
import { keepReplyState, noContinuation, recordLinks, resolveContinuation } from './continuation.js';
import { TranslatedTurns } from './translated-turns.js';
import { pinnedTarget } from './fallback.js';
import { buildCheckpoint, buildTrace, cutByShutdown, markCutByShutdown, type Recorders } from './record.js';
// [issue 17] policies, response cache, OpenTelemetry
import { policyTransform, runRequestPolicies, runResponsePolicies, type PolicyStage } from './policy-stage.js';
import { cacheCapture, cacheLookup, cacheStore, replayCached, type CacheStage } from './cache-stage.js';
import type { Telemetry } from '../otel/index.js';
import { pinnedDirective, replayDirectiveVersion, replayOfHeader } from '../ledger/replay-headers.js';
import type { SpendGuard, SpendHold } from '../usage/guard.js';

export interface PipelineDeps {
  verifyAgent(principal: Principal, requested: string | undefined): Promise<Agent>;
  rateLimiter: RateLimiter;
  /** Token limits, budgets and cost (src/usage); absent: no budgets and no cost in records */
  spend?: SpendGuard;
  /** The directive version this session is served (src/directives/resolver.ts); `isNewSession`: the id was generated here */
  resolveDirective(agent: string, sessionId: string | null, isNewSession: boolean): Promise<ServedDirective | null> | ServedDirective | null;
  /** A given version of the agent's directive (for replays pinning one); absent → pins are refused */
  directiveVersion?(agent: string, version: number): Promise<Directive | null>;
  /** Session ownership (src/sessions/owners.ts): a named id is claimed before forwarding; a generated one is owned at once (its first checkpoint makes the row). */
  sessions: {
    claim(sessionId: string, agent: string, patId: string, at: number): Promise<void> | void;
    known(sessionId: string, agent: string): void;
  };
  /** The current registry; replaced (not mutated) when ibex.yaml is reloaded */
  providers: ProviderRegistry;
  recorders: Recorders;
  /** Tracks in-flight requests for graceful shutdown */
  inflight: { add(p: Promise<unknown>): void };
  /** True once shutdown closes the connections still open after the drain: who ended a request */
  shuttingDown?(): boolean;
  /** Where unexpected failures (bugs) are reported; expected errors are in traces, not logs */
  logError(message: string, err: unknown): void;
  /** Whose a reply or conversation id is (its session) and which provider and key hold its state, for `previous_response_id` */
  responseLinks: ResponseLinks;
  /** [issue 17] The agents' policies (policy-stage.ts); absent: none */
  policies?: PolicyStage;
  /** [issue 17] The response cache (cache-stage.ts); absent: off */
  cache?: CacheStage;
  /** [issue 17] OpenTelemetry (src/otel/); absent or null: off */
  telemetry?: Telemetry | null;
  /** The turns ibex keeps for continuations of translated Responses (translated-turns.ts) */
  translatedTurns?: TranslatedTurns;
}

const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/;

export function newSessionId(): string {
  // Time-ordered, so a new session's rows append to the store's indexes (src/util/time-ordered-id.ts).
  return 'ses_' + timeOrderedHex32();
}

/** The fastify handler of one inbound protocol's route. */
export function createProtocolHandler(deps: PipelineDeps, protocol: InboundProtocol<never>) {
  // Tests may build deps without one; every protocol handler must then share the same map.
  deps.translatedTurns ??= new TranslatedTurns();
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
  // The earlier reply or conversation the request continues (continuation.ts)
  const continuation = noContinuation();

  try {
    // The auth hook (src/server/auth-hook.ts) authenticated the caller before the body was read.
    const principal = req.principal;
    if (!principal) throw new IbexError('IBEX_ERR_INVALID_API_KEY');
    ctx.principal = principal;
    ctx.stages.auth = req.authMs;
    ctx.begin();
    // [issue 17] OpenTelemetry: the request's span continues the caller's traceparent; its own goes upstream
    const traceparent = deps.telemetry?.startRequest(ctx, req.headers.traceparent, protocol.name);

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

    // The reply or conversation it continues, and whose (another agent's: 403)
    if (protocol.sessionLink) await resolveContinuation(deps, protocol, body, agent, continuation);
    const link = continuation.link;

    // Only conversations (protocols whose turns are checkpointed) have sessions.
    const conversation = protocol.recordedMessages !== undefined;
    let generatedSession = true;
    if (conversation) {
      const sessionHeader = req.headers['x-ibex-session'];
      // A replay is a session of its own (tagged with the turn it replays), even when the turn it
      // replays continued an earlier response: it must not add a turn to the session it came from.
      continuation.replay = replayOfHeader(req.headers) !== null;
      const linked = continuation.replay ? undefined : continuation.linkedTo?.sessionId;
      if (typeof sessionHeader === 'string') {
        generatedSession = false;
        ctx.sessionId = validateSessionId(sessionHeader);
        const owned = deps.sessions.claim(ctx.sessionId, agent.name, principal.patId, ctx.startedAt);
        if (owned) await owned;
      } else if (linked !== undefined) {
        // The session of the turn this one continues: its link named its owner, this agent (checked
        // above), as the turn that recorded it found it, so there is nothing to claim (and no store
        // to ask: a continuation Redis knows is served while the session store is down).
        generatedSession = false;
        ctx.sessionId = linked;
        deps.sessions.known(ctx.sessionId, agent.name);
      } else {
        ctx.sessionId = newSessionId();
        deps.sessions.known(ctx.sessionId, agent.name);
      }
      headers['x-ibex-session'] = ctx.sessionId;
      ctx.end('session');
    }

    let directive: Directive | null = null;
    let servedDirective: ServedDirective | null = null;
    if (protocol.placeDirective) {
      // A replay (`ibex sessions replay --directive-version V`) may pin a version; nothing else can.
      // Otherwise sticky per session: a session keeps the version it started with; a canary splits new sessions.
      const pinned = replayDirectiveVersion(req.headers);
      if (pinned === null) {
        const r = deps.resolveDirective(agent.name, ctx.sessionId ?? ctx.requestId, generatedSession);
        servedDirective = r instanceof Promise ? await r : r;
        directive = servedDirective?.directive ?? null;
      } else {
        directive = await pinnedDirective(deps, agent.name, pinned);
      }
      ctx.directive = directive;
      if (directive) headers['x-ibex-directive-version'] = String(directive.version);
      ctx.end('directive');
    }

    // [issue 17] the agent's policies may rewrite or refuse the caller's request (before routing: a changed model is routed)
    const policyRun = await runRequestPolicies(deps.policies, ctx, protocol, parsed, body);

    const registry = deps.providers;
    let targets = registry.targets(parsed.model);
    // A continuation of upstream state goes to the provider (and key) holding it, with no fallback.
    const pin = link ? pinnedTarget(registry, targets, deps.responseLinks.stateAt(link)) : null;
    if (pin) targets = [pin.target];
    // A continuation of a turn ibex translated: the earlier turns go before its input (the provider keeps none)
    // (not for a continuation pinned to the provider holding its state: that one has no turns here)
    const kept = link && protocol.turnItems && !pin ? deps.translatedTurns?.history(link, agent.name) : undefined;
    const history = kept instanceof Promise ? await kept : kept;
    ctx.end('route');

    let placed = protocol.placeDirective ? protocol.placeDirective(body, directive?.text ?? null) : body;
    // Opt-in provider prompt caching: one cache key per agent and directive version (stable bytes).
    if (servedDirective?.promptCache && protocol.cachePrompt) placed = protocol.cachePrompt(placed, `ibex:${agent.name}:v${servedDirective.directive.version}`);
    ctx.messages = protocol.recordedMessages?.(placed) ?? null;
    ctx.end('inject');

    // The first target's call serves the cache key too (the request as it would go upstream).
    const firstCall = upstreamCall(protocol, placed, parsed.model, targets[0]!.provider, targets[0]!.model, history);
    // The ledger keeps the request in the caller's protocol, as the first target takes it (exact
    // replay); a fallback below replaces it with the next target's.
    ctx.sent(protocol, firstCall && !firstCall.translation ? firstCall.body : serialiseOutgoing(placed), req.headers);

    // [issue 17] response cache: a hit is replayed instead of forwarding
    const cached = firstCall ? await cacheLookup(deps.cache, ctx, protocol, targets[0]!.provider.id, firstCall.body, headers) : null;
    if (cached?.hit) return await replayCached(cached, ctx, protocol, reply, headers);
    // [issue 17] the policies' stream filter (+ the cache's copy); the span's traceparent upstream
    const extras = {
      transform: cacheCapture(cached, ctx, policyTransform(policyRun, ctx, protocol), deps.cache?.maxEntryBytes ?? 0),
      ...(traceparent ? { upstreamHeaders: { traceparent } } : {}),
    };
    // The caller's feature flags for a provider of its own API (anthropic-beta): not for a translated call.
    const flags = callerHeaders(protocol.forwardedHeaders, req.headers);
    const flagged = flags ? { ...extras, upstreamHeaders: { ...flags, ...extras.upstreamHeaders } } : extras;

    // The fallback chain: each target in order; the next one only after a retry-safe failure (connect
    // error, timeout, 429, 5xx, an invalid answer) that happened before any byte reached the caller.
    let result: ForwardResult | undefined;
    let served: { provider: string; translated: boolean } | undefined;
    for (let i = 0; ; i++) {
      const target = targets[i]!;
      const call = i === 0 ? firstCall : upstreamCall(protocol, placed, parsed.model, target.provider, target.model, history);
      if (call && pin) call.keyIndex = pin.keyIndex;
      if (!call) {
        ctx.attempts.push({ provider: target.provider.id, model: target.model, error: 'unsupported_protocol' });
        if (i + 1 >= targets.length) throw unsupported(protocol, parsed.model, targets.map((t) => t.provider.id));
        continue;
      }
      // The records describe the last target tried (the one that served, when one did): its
      // provider, model, the path it was sent to and, after a fallback, its body (in the caller's
      // protocol when it was translated: the ledger keeps what replay sends).
      ctx.provider = target.provider.id;
      ctx.servedModel = target.model;
      ctx.upstreamPath = call.path;
      if (i > 0) ctx.upstreamBody = call.translation ? serialiseOutgoing(placed) : call.body;
      headers['x-ibex-provider'] = target.provider.id;
      // The model is the caller's text: a header carries it only when it is a valid header value.
      if (HEADER_SAFE.test(target.model)) headers['x-ibex-served-model'] = target.model;
      else delete headers['x-ibex-served-model'];
      try {
        result = await forward(
          ctx,
          protocol as InboundProtocol<never>,
          target.provider,
          call,
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
          call.translation ? extras : flagged,
        );
        served = { provider: target.provider.id, translated: call.translation !== null };
        break;
      } catch (err) {
        ctx.attempts.push({ provider: target.provider.id, model: target.model, error: errorCodeOf(err) });
        if (i + 1 >= targets.length || abort.aborted || reply.sent || !retrySafe(err)) throw err;
      }
    }
    ctx.begin();
    // [issue 17] policies on a complete reply, then the cache keeps what the caller gets
    if (result.json) result.json = await runResponsePolicies(policyRun, ctx, protocol, result.json);
    cacheStore(deps.cache, cached, ctx, result.json);
    // Where the state this reply created lives: upstream, or in ibex's translated turns
    if (protocol.sessionLink) keepReplyState(deps, protocol, ctx, req, continuation, { body, served: served!, keyIndex: result.keyIndex, pinned: pin !== null, history });
    // Before the reply goes out (awaiting it yields to other requests): a client's next turn can
    // follow at once, to this process or another, and must find what this one continued and created.
    recordLinks(deps, protocol, ctx, continuation);

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
    // A request that failed still claims the conversation it named (a served one recorded its links above)
    if (!ctx.responseLink) recordLinks(deps, protocol, ctx, continuation);
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
  if (ctx.clientAborted && !cutByShutdown(ctx)) {
    // The caller left first: what failed after (the provider call it cancelled, most often) is its
    // consequence, and the records say client_aborted (499), wherever the request was when it left.
    ctx.status = 499;
    return;
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
