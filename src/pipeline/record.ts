// After the reply: the session checkpoint (write-behind) and the trace (batched emitter). Neither is
// awaited by the request; both queues spool to disk rather than drop.
import type { CheckpointInput, CheckpointStatus, PolicyDecisionRecord, Trace } from '../stores/ports.js';
import type { RequestContext } from './context.js';
import { ERRORS } from '../errors.js';
import { recordContent } from '../ledger/content-mode.js';
import { policyRunOf } from './policy-stage.js';
import { cacheStatusOf } from './cache-stage.js';

/**
 * Error codes that only records carry (no HTTP error reply went out with them), listed in
 * docs/errors.md: a stream the provider ended without `data: [DONE]`, and a request whose caller left.
 */
export const UPSTREAM_INCOMPLETE = 'upstream_incomplete';
export const CLIENT_ABORTED = 'client_aborted';
const SHUTTING_DOWN = ERRORS.IBEX_ERR_SHUTTING_DOWN.code;

/**
 * The connection was closed by this gateway's shutdown (the drain timeout ran out), not by the
 * caller: recorded as 503 `server_shutting_down`, so an operator can tell the two apart.
 */
export function markCutByShutdown(ctx: RequestContext): void {
  ctx.clientAborted = true;
  ctx.errorCode = SHUTTING_DOWN;
  ctx.status = ERRORS.IBEX_ERR_SHUTTING_DOWN.status;
}

export function cutByShutdown(ctx: RequestContext): boolean {
  return ctx.clientAborted && ctx.errorCode === SHUTTING_DOWN;
}

export interface Recorders {
  checkpoint(cp: CheckpointInput): void;
  trace(t: Trace): void;
  /** Called once per finished request with the trace (metrics). */
  observe?(t: Trace, ctx: RequestContext): void;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function buildTrace(ctx: RequestContext, now: number): Trace {
  const stages: Record<string, number> = {};
  const measured = ctx.stages as Record<string, number>;
  for (const k in measured) stages[k] = round(measured[k]!);
  const ttfb = ctx.ttfbMs();
  return {
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    sessionId: ctx.sessionId,
    agent: ctx.agent?.name ?? null,
    patId: ctx.principal?.patId ?? null,
    model: ctx.model,
    provider: ctx.provider,
    stream: ctx.stream,
    status: ctx.status,
    errorCode: ctx.errorCode,
    startedAt: ctx.startedAt,
    totalMs: round(ctx.totalMs(now)),
    upstreamTtfbMs: ttfb === null ? null : round(ttfb),
    upstreamMs: ctx.upstreamStart === null ? null : round(ctx.upstreamMs(now)),
    overheadMs: round(ctx.overheadMs(now)),
    stages,
    promptTokens: ctx.usage?.promptTokens ?? null,
    completionTokens: ctx.usage?.completionTokens ?? null,
    totalTokens: ctx.usage?.totalTokens ?? null,
    cachedTokens: ctx.usage?.cachedTokens ?? null,
    reasoningTokens: ctx.usage?.reasoningTokens ?? null,
    costUsd: ctx.costUsd,
    bytesIn: ctx.bytesIn,
    bytesOut: ctx.bytesOut,
    directiveVersion: ctx.directive?.version ?? null,
    servedModel: ctx.servedModel,
    attempts: ctx.attempts,
    policyDecisions: policyDecisions(ctx),
    cacheStatus: cacheStatusOf(ctx),
  };
}

/** What the request's policies did (issue 17); null when the agent has none or none acted. */
function policyDecisions(ctx: RequestContext): PolicyDecisionRecord[] | null {
  const all = policyRunOf(ctx)?.allDecisions();
  return all?.length ? all : null;
}

function checkpointStatus(ctx: RequestContext): CheckpointStatus {
  if (cutByShutdown(ctx)) return 'shutdown';
  if (ctx.clientAborted) return 'client_aborted';
  if (!ctx.errorCode) return 'ok';
  if (ctx.errorCode === UPSTREAM_INCOMPLETE) return 'incomplete';
  // Catalog upstream_* codes (502/504/429), or a provider 4xx passed through with its own code.
  if (ctx.errorCode.startsWith('upstream') || (ctx.status >= 400 && ctx.status < 500)) return 'upstream_error';
  return 'gateway_error';
}

/** A checkpoint exists for every request that was forwarded upstream (authenticated, agent known). */
export function buildCheckpoint(ctx: RequestContext): CheckpointInput | null {
  if (ctx.upstreamStart === null || !ctx.sessionId || !ctx.agent || !ctx.principal) return null;
  // What is kept of the content depends on the agent's mode (full / redacted / metadata).
  const mode = ctx.agent.contentMode ?? 'full';
  const content = recordContent(mode, ctx.upstreamBody, ctx.messages ?? [], ctx.reply);
  return {
    sessionId: ctx.sessionId,
    agent: ctx.agent.name,
    patId: ctx.principal.patId,
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    model: ctx.model,
    directiveVersion: ctx.directive?.version ?? null,
    messageTexts: content.messageTexts,
    reply: content.reply,
    finishReason: ctx.finishReason,
    usage: ctx.usage,
    costUsd: ctx.costUsd,
    status: checkpointStatus(ctx),
    errorCode: ctx.clientAborted && !cutByShutdown(ctx) ? CLIENT_ABORTED : ctx.errorCode,
    stream: ctx.stream,
    // The request's start: checkpoints of a session are ordered by it, whichever replica wrote them when.
    createdAt: ctx.startedAt,
    // What exact replay needs (src/ledger/): the route, who served it, the body sent as a template.
    protocol: ctx.protocol,
    upstreamPath: ctx.upstreamPath,
    provider: ctx.provider,
    servedModel: ctx.servedModel,
    attempts: ctx.attempts,
    policyDecisions: policyDecisions(ctx),
    cacheStatus: cacheStatusOf(ctx),
    upstreamTemplate: content.upstreamTemplate,
    ...(mode === 'full' ? {} : { contentMode: mode, messageCount: content.messageCount }),
    replayOf: ctx.replayOf,
    ...ctx.responseLink,
  };
}
