// One debug-log line of a finished request: the trace's identity and figures, the request as sent
// upstream (messages, directive included) and the reply as recorded, plus policy decisions and cache.
import type { RequestContext } from '../pipeline/context.js';
import type { Trace } from '../stores/ports.js';

export interface DebugNotes {
  policy?: string | null;
  cache?: string | null;
}

export function debugRecord(ctx: RequestContext, t: Trace, notes: DebugNotes = {}): object {
  return {
    time: new Date(t.startedAt).toISOString(),
    requestId: t.requestId,
    clientRequestId: t.clientRequestId,
    agent: t.agent,
    sessionId: t.sessionId,
    model: t.model,
    servedModel: ctx.servedModel,
    provider: t.provider,
    stream: t.stream,
    status: t.status,
    errorCode: t.errorCode,
    totalMs: t.totalMs,
    overheadMs: t.overheadMs,
    request: { messages: ctx.messages },
    reply: { text: ctx.reply, finishReason: ctx.finishReason, usage: ctx.usage, responseId: ctx.responseId },
    policy: notes.policy ?? null,
    cache: notes.cache ?? null,
  };
}
