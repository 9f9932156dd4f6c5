// The record of a request refused before the pipeline ran (no valid PAT). Such requests never reach
// the handler, so no context exists yet: this builds the trace a pipeline request would have had,
// with nothing but the refusal (the body was never read, so no model, no session).
import { performance } from 'node:perf_hooks';
import type { Trace } from '../stores/ports.js';
import type { IbexError } from '../errors.js';
import { RequestContext } from './context.js';
import { buildTrace } from './record.js';

export function rejectedTrace(requestId: string, correlationId: string, err: IbexError, authMs: number): Trace {
  const now = performance.now();
  const ctx = new RequestContext(requestId, correlationId, now - authMs);
  ctx.stages.auth = authMs;
  ctx.status = err.status;
  ctx.errorCode = err.code;
  return buildTrace(ctx, now);
}
