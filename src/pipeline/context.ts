// Per-request state carried through the pipeline. Each stage records its own duration; overhead
// (total − provider time) is computed once at the end.
import { performance } from 'node:perf_hooks';
import type { Agent, CheckpointFields, Directive, Usage } from '../stores/ports.js';
import type { Principal } from '../auth/principal.js';
import { replayOfHeader } from '../ledger/replay-headers.js';
import type { ReplyFacts, StreamFilter } from '../protocols/types.js';

export type StageName = 'auth' | 'agent' | 'rate_limit' | 'validate' | 'session' | 'directive' | 'policy' | 'cache' | 'inject' | 'route' | 'respond';

export class RequestContext {
  readonly startedAt: number;
  readonly stages: Partial<Record<StageName, number>> = {};
  private stageStart: number;

  principal: Principal | null = null;
  agent: Agent | null = null;
  sessionId: string | null = null;
  directive: Directive | null = null;
  model: string | null = null;
  provider: string | null = null;
  stream = false;
  /** Messages as sent upstream (directive included) */
  messages: unknown[] | null = null;
  /** The outgoing body's JSON text exactly as sent upstream (the ledger stores it as a template, for replay) */
  upstreamBody: string | null = null;
  /**
   * The inbound protocol's name, and the path under the provider's base URL the request went to: the
   * protocol's own, or the provider's API's when it was translated (`/messages` for a chat request
   * an Anthropic model served). The gateway route to replay on follows from the protocol.
   */
  protocol: string | null = null;
  upstreamPath: string | null = null;
  /** `SESSION:TURN` from X-Ibex-Replay-Of: this request replays that turn (`ibex sessions replay`) */
  replayOf: string | null = null;

  /** Records what was sent upstream, for the checkpoint (one call in handle.ts's inject stage). */
  sent(protocol: { name: string; upstreamPath: string }, body: string, headers: Record<string, string | string[] | undefined>): void {
    this.upstreamBody = body;
    this.protocol = protocol.name;
    this.upstreamPath = protocol.upstreamPath;
    this.replayOf = replayOfHeader(headers);
  }

  /** performance.now() when the upstream request was dispatched / its headers arrived / its body ended */
  upstreamStart: number | null = null;
  upstreamHeaders: number | null = null;
  upstreamEnd: number | null = null;

  status = 200;
  errorCode: string | null = null;
  reply: string | null = null;
  /** The reply's text and tool calls apart (`reply` keeps the tool calls only when there is no text) */
  replyParts: Pick<ReplyFacts, 'text' | 'toolCalls'> | null = null;
  finishReason: string | null = null;
  usage: Usage | null = null;
  /** USD of the request at its served model's price (src/usage); null when unknown */
  costUsd: number | null = null;
  /** Removes from a stream what ibex asked the provider for on its own behalf (protocol.prepareUpstream) */
  streamFilter: StreamFilter | null = null;
  /** The provider's id of the reply (`resp_…` links a later `previous_response_id` to this session) */
  responseId: string | null = null;
  /** What the checkpoint keeps so other processes can resolve this turn's ids (Responses only; sessions/response-links.ts) */
  responseLink: Pick<CheckpointFields, 'responseId' | 'continuedId' | 'stateAt' | 'translatedTurn'> | null = null;
  /** The model the provider served (after alias resolution and fallback) */
  servedModel: string | null = null;
  /** Fallback attempts that failed before the one that served (provider, model, error code) */
  attempts: { provider: string; model: string; error: string }[] = [];
  bytesIn = 0;
  bytesOut = 0;
  clientAborted = false;

  /**
   * `requestId`: ours, unique, the identity of the stored trace and checkpoint. `correlationId`: what
   * the caller sees in X-Request-Id and the provider receives — the caller's own id when it sent a sane
   * one (it may reuse it), else `requestId`.
   */
  constructor(
    readonly requestId: string,
    readonly correlationId: string = requestId,
    /** performance.now() when the gateway started on the request (the auth hook runs before the handler) */
    readonly t0: number = performance.now(),
  ) {
    // Whole ms: stores keep epoch ms as integers (Postgres BIGINT refuses a fraction, and with it
    // the whole batch the trace or checkpoint is in).
    this.startedAt = Math.round(Date.now() - Math.max(0, performance.now() - t0));
    this.stageStart = t0;
  }

  /** The caller's own X-Request-Id (stored beside ours so an operator can find it), null when it sent none. */
  get clientRequestId(): string | null {
    return this.correlationId === this.requestId ? null : this.correlationId;
  }

  /** Marks the start of the next stage (the time since the previous mark is not attributed). */
  begin(): void {
    this.stageStart = performance.now();
  }

  /** Ends the current stage, recording its duration, and starts the next one. */
  end(stage: StageName): void {
    const now = performance.now();
    this.stages[stage] = (this.stages[stage] ?? 0) + (now - this.stageStart);
    this.stageStart = now;
  }

  /** Time spent waiting on the provider so far. */
  upstreamMs(now = performance.now()): number {
    if (this.upstreamStart === null) return 0;
    return (this.upstreamEnd ?? now) - this.upstreamStart;
  }

  ttfbMs(): number | null {
    return this.upstreamStart !== null && this.upstreamHeaders !== null ? this.upstreamHeaders - this.upstreamStart : null;
  }

  totalMs(now = performance.now()): number {
    return now - this.t0;
  }

  overheadMs(now = performance.now()): number {
    return Math.max(0, this.totalMs(now) - this.upstreamMs(now));
  }
}
