import type { CacheStatus, PolicyDecisionRecord, ProviderAttempt, Trace, TraceFilter } from '../ports.js';
import { storeJson, storeTextOrNull as text } from '../store-text.js';
import type { ParamEncode, RowDecode } from './decode.js';

export interface TraceRow<Json, Bool> {
  request_id: string;
  client_request_id: string | null;
  session_id: string | null;
  agent: string | null;
  pat_id: string | null;
  model: string | null;
  provider: string | null;
  stream: Bool;
  status: number;
  error_code: string | null;
  started_at: number;
  total_ms: number;
  upstream_ttfb_ms: number | null;
  upstream_ms: number | null;
  overhead_ms: number;
  stages: Json;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  bytes_in: number;
  bytes_out: number;
  directive_version: number | null;
  served_model: string | null;
  /** JSON text of the failed fallback attempts; NULL when the first target served */
  attempts: string | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  /** JSON text of the policy decisions (migration 0011); NULL when no policy acted */
  policy_decisions: string | null;
  /** `hit` / `miss`; NULL when the agent has no response cache */
  cache_status: string | null;
}

export type TraceColumn = keyof TraceRow<unknown, unknown>;

/** The traces columns in table order, each with the value a Trace binds to it (text cleaned: store-text.ts). */
const TRACE_VALUES: readonly (readonly [TraceColumn, (t: Trace, e: ParamEncode) => unknown])[] = [
  ['request_id', (t) => text(t.requestId)],
  // ?? null: a trace spooled by an older version has no such field.
  ['client_request_id', (t) => text(t.clientRequestId ?? null)],
  ['session_id', (t) => text(t.sessionId)],
  ['agent', (t) => text(t.agent)],
  ['pat_id', (t) => text(t.patId)],
  ['model', (t) => text(t.model)],
  ['provider', (t) => text(t.provider)],
  ['stream', (t, e) => e.bool(t.stream)],
  ['status', (t) => t.status],
  ['error_code', (t) => text(t.errorCode)],
  ['started_at', (t) => t.startedAt],
  ['total_ms', (t) => t.totalMs],
  ['upstream_ttfb_ms', (t) => t.upstreamTtfbMs],
  ['upstream_ms', (t) => t.upstreamMs],
  ['overhead_ms', (t) => t.overheadMs],
  ['stages', (t) => storeJson(JSON.stringify(t.stages ?? {}))],
  ['prompt_tokens', (t) => t.promptTokens],
  ['completion_tokens', (t) => t.completionTokens],
  ['total_tokens', (t) => t.totalTokens],
  ['bytes_in', (t) => t.bytesIn],
  ['bytes_out', (t) => t.bytesOut],
  ['directive_version', (t) => t.directiveVersion],
  ['served_model', (t) => text(t.servedModel ?? null)],
  ['attempts', (t) => attemptsText(t.attempts)],
  // ?? null: a trace spooled by an older version has none of these.
  ['cached_tokens', (t) => t.cachedTokens ?? null],
  ['reasoning_tokens', (t) => t.reasoningTokens ?? null],
  ['cost_usd', (t) => t.costUsd ?? null],
  ['policy_decisions', (t) => decisionsText(t.policyDecisions)],
  ['cache_status', (t) => text(t.cacheStatus ?? null)],
];

export const TRACE_COLUMNS: readonly TraceColumn[] = TRACE_VALUES.map(([c]) => c);
export const TRACE_COLS = TRACE_COLUMNS.join(', ');

/** The values of one trace in TRACE_COLUMNS order, for a positional INSERT. */
export const traceParams = (t: Trace, e: ParamEncode): unknown[] => TRACE_VALUES.map(([, get]) => get(t, e));

export const toTrace = <J, B>(r: TraceRow<J, B>, d: RowDecode<J, B>): Trace => ({
  requestId: r.request_id,
  clientRequestId: r.client_request_id,
  sessionId: r.session_id,
  agent: r.agent,
  patId: r.pat_id,
  model: r.model,
  provider: r.provider,
  stream: d.bool(r.stream),
  status: r.status,
  errorCode: r.error_code,
  startedAt: r.started_at,
  totalMs: r.total_ms,
  upstreamTtfbMs: r.upstream_ttfb_ms,
  upstreamMs: r.upstream_ms,
  overheadMs: r.overhead_ms,
  stages: d.json(r.stages) as Record<string, number>,
  promptTokens: r.prompt_tokens,
  completionTokens: r.completion_tokens,
  totalTokens: r.total_tokens,
  cachedTokens: r.cached_tokens,
  reasoningTokens: r.reasoning_tokens,
  costUsd: r.cost_usd,
  bytesIn: r.bytes_in,
  bytesOut: r.bytes_out,
  directiveVersion: r.directive_version,
  servedModel: r.served_model ?? null,
  attempts: attemptsOf(r.attempts),
  policyDecisions: decisionsOf(r.policy_decisions),
  cacheStatus: storedCacheStatus(r.cache_status),
});

/** Failed fallback attempts as stored: JSON text, NULL for none (the common case costs nothing). */
export function attemptsText(a: readonly ProviderAttempt[] | null | undefined): string | null {
  return a && a.length ? storeJson(JSON.stringify(a)) : null;
}

export function attemptsOf(v: unknown): ProviderAttempt[] {
  if (typeof v !== 'string' || v === '') return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? (parsed as ProviderAttempt[]) : [];
  } catch {
    return [];
  }
}

/** Policy decisions as stored: JSON text (cleaned like every text), NULL for none. */
export function decisionsText(d: readonly PolicyDecisionRecord[] | null | undefined): string | null {
  return d && d.length ? storeJson(JSON.stringify(d)) : null;
}

/** The stored decisions; null for none (NULL, '', or text that is not a JSON list). */
export function decisionsOf(v: unknown): PolicyDecisionRecord[] | null {
  if (typeof v !== 'string' || v === '') return null;
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) && parsed.length ? (parsed as PolicyDecisionRecord[]) : null;
  } catch {
    return null;
  }
}

/** A stored cache status; anything else (NULL) is null. */
export function storedCacheStatus(v: unknown): CacheStatus | null {
  return v === 'hit' || v === 'miss' ? v : null;
}

/**
 * The WHERE conditions of TraceFilter's `status`, `since` and `before` (the other fields are each
 * adapter's own, older code). `bind` adds one parameter and returns its placeholder (`?` or `$n`).
 * `before` matches the list order (started_at DESC, request_id DESC), so a page continues exactly
 * after the previous one's last row.
 */
export function traceFilterConditions(filter: TraceFilter | undefined, bind: (value: unknown) => string): string[] {
  const out: string[] = [];
  const status = filter?.status;
  if (status === 'error') out.push('(status >= 400 OR error_code IS NOT NULL)');
  else if (status === 'ok') out.push('(status < 400 AND error_code IS NULL)');
  else if (status !== undefined) out.push(`status = ${bind(status)}`);
  if (filter?.since !== undefined) out.push(`started_at >= ${bind(filter.since)}`);
  const before = filter?.before;
  if (before) {
    out.push(`(started_at < ${bind(before.startedAt)} OR (started_at = ${bind(before.startedAt)} AND request_id < ${bind(before.requestId)}))`);
  }
  return out;
}
