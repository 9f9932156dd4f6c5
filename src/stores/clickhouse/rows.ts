// Trace ↔ ClickHouse row. Values are clamped to the column types here, because a row ClickHouse
// refuses would fail its whole batch on every retry and block the queue behind it. Text goes through
// storeText (ClickHouse's JSON input refuses a lone-surrogate escape).
import type { Trace } from '../ports.js';
import { storeText, storeTextOrNull } from '../store-text.js';
import { attemptsOf, attemptsText, decisionsOf, decisionsText, storedCacheStatus } from '../sql/traces.js';

export interface TraceRow {
  request_id: string;
  client_request_id: string | null;
  session_id: string | null;
  agent: string;
  pat_id: string | null;
  model: string | null;
  provider: string | null;
  stream: number;
  status: number;
  error_code: string | null;
  started_at_ms: number;
  total_ms: number;
  upstream_ttfb_ms: number | null;
  upstream_ms: number | null;
  overhead_ms: number;
  stage_names: string[];
  stage_ms: number[];
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  bytes_in: number;
  bytes_out: number;
  directive_version: number | null;
  served_model: string | null;
  /** JSON text of the failed fallback attempts; null when the first target served */
  attempts: string | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  /** JSON text of the policy decisions; null when no policy acted */
  policy_decisions: string | null;
  cache_status: string | null;
}

export const TRACE_COLUMNS: readonly (keyof TraceRow)[] = [
  'request_id',
  'client_request_id',
  'session_id',
  'agent',
  'pat_id',
  'model',
  'provider',
  'stream',
  'status',
  'error_code',
  'started_at_ms',
  'total_ms',
  'upstream_ttfb_ms',
  'upstream_ms',
  'overhead_ms',
  'stage_names',
  'stage_ms',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'bytes_in',
  'bytes_out',
  'directive_version',
  'served_model',
  'attempts',
  'cached_tokens',
  'reasoning_tokens',
  'cost_usd',
  'policy_decisions',
  'cache_status',
];

const UINT16_MAX = 65_535;
const UINT32_MAX = 4_294_967_295;

export function toRow(t: Trace): TraceRow {
  const stages = Object.entries(t.stages ?? {}).filter(([, ms]) => typeof ms === 'number' && Number.isFinite(ms));
  return {
    request_id: storeText(String(t.requestId)),
    client_request_id: storeTextOrNull(t.clientRequestId ?? null),
    session_id: storeTextOrNull(t.sessionId),
    agent: storeTextOrNull(t.agent) ?? '',
    pat_id: storeTextOrNull(t.patId),
    model: storeTextOrNull(t.model),
    provider: storeTextOrNull(t.provider),
    stream: t.stream ? 1 : 0,
    status: int(t.status, 0, UINT16_MAX),
    error_code: storeTextOrNull(t.errorCode),
    started_at_ms: int(t.startedAt, 0, Number.MAX_SAFE_INTEGER),
    total_ms: float(t.totalMs),
    upstream_ttfb_ms: floatOrNull(t.upstreamTtfbMs),
    upstream_ms: floatOrNull(t.upstreamMs),
    overhead_ms: float(t.overheadMs),
    stage_names: stages.map(([name]) => storeText(name)),
    stage_ms: stages.map(([, ms]) => ms),
    prompt_tokens: intOrNull(t.promptTokens, UINT32_MAX),
    completion_tokens: intOrNull(t.completionTokens, UINT32_MAX),
    total_tokens: intOrNull(t.totalTokens, UINT32_MAX),
    bytes_in: int(t.bytesIn, 0, Number.MAX_SAFE_INTEGER),
    bytes_out: int(t.bytesOut, 0, Number.MAX_SAFE_INTEGER),
    directive_version: intOrNull(t.directiveVersion, UINT32_MAX),
    served_model: storeTextOrNull(t.servedModel ?? null),
    attempts: attemptsText(t.attempts),
    // ?? null: a trace spooled by an older version has none of these.
    cached_tokens: intOrNull(t.cachedTokens ?? null, UINT32_MAX),
    reasoning_tokens: intOrNull(t.reasoningTokens ?? null, UINT32_MAX),
    cost_usd: floatOrNull(t.costUsd ?? null),
    policy_decisions: decisionsText(t.policyDecisions),
    cache_status: storeTextOrNull(t.cacheStatus ?? null),
  };
}

/** From a JSONEachRow result row (64-bit integers arrive as strings). */
export function fromRow(r: Record<string, unknown>): Trace {
  const names = (r.stage_names as string[] | undefined) ?? [];
  const ms = (r.stage_ms as number[] | undefined) ?? [];
  const stages: Record<string, number> = {};
  names.forEach((name, i) => {
    stages[name] = Number(ms[i]);
  });
  return {
    requestId: String(r.request_id),
    clientRequestId: strOrNull(r.client_request_id),
    sessionId: strOrNull(r.session_id),
    agent: r.agent === '' || r.agent === null || r.agent === undefined ? null : String(r.agent),
    patId: strOrNull(r.pat_id),
    model: strOrNull(r.model),
    provider: strOrNull(r.provider),
    stream: Number(r.stream) === 1,
    status: Number(r.status),
    errorCode: strOrNull(r.error_code),
    startedAt: Number(r.started_at_ms),
    totalMs: Number(r.total_ms),
    upstreamTtfbMs: numOrNull(r.upstream_ttfb_ms),
    upstreamMs: numOrNull(r.upstream_ms),
    overheadMs: Number(r.overhead_ms),
    stages,
    promptTokens: numOrNull(r.prompt_tokens),
    completionTokens: numOrNull(r.completion_tokens),
    totalTokens: numOrNull(r.total_tokens),
    bytesIn: Number(r.bytes_in),
    bytesOut: Number(r.bytes_out),
    directiveVersion: numOrNull(r.directive_version),
    servedModel: strOrNull(r.served_model),
    attempts: attemptsOf(r.attempts),
    cachedTokens: numOrNull(r.cached_tokens),
    reasoningTokens: numOrNull(r.reasoning_tokens),
    costUsd: numOrNull(r.cost_usd),
    policyDecisions: decisionsOf(r.policy_decisions),
    cacheStatus: storedCacheStatus(r.cache_status),
  };
}

function int(v: unknown, min: number, max: number): number {
  const n = Math.round(Number(v));
  if (!Number.isFinite(n)) return min;
  return Math.min(max, Math.max(min, n));
}

function intOrNull(v: unknown, max: number): number | null {
  if (v === null || v === undefined) return null;
  const n = Math.round(Number(v));
  return Number.isFinite(n) ? Math.min(max, Math.max(0, n)) : null;
}

function float(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function floatOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
