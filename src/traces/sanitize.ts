// Copies a trace field by field, so nothing but the Trace shape ever reaches a trace store or the
// live bus: no prompt or completion text, no headers, no secrets, even if a caller hands over a
// richer object (e.g. a request context) that happens to satisfy the type.
import type { PolicyDecisionRecord, ProviderAttempt, Trace } from '../stores/ports.js';
import { storedCacheStatus } from '../stores/sql/traces.js';

export function sanitizeTrace(t: Trace): Trace {
  return {
    requestId: String(t.requestId),
    clientRequestId: strOrNull(t.clientRequestId),
    sessionId: strOrNull(t.sessionId),
    agent: strOrNull(t.agent),
    patId: strOrNull(t.patId),
    model: strOrNull(t.model),
    provider: strOrNull(t.provider),
    stream: Boolean(t.stream),
    status: num(t.status),
    errorCode: strOrNull(t.errorCode),
    startedAt: num(t.startedAt),
    totalMs: num(t.totalMs),
    upstreamTtfbMs: numOrNull(t.upstreamTtfbMs),
    upstreamMs: numOrNull(t.upstreamMs),
    overheadMs: num(t.overheadMs),
    stages: stagesOf(t.stages),
    promptTokens: numOrNull(t.promptTokens),
    completionTokens: numOrNull(t.completionTokens),
    totalTokens: numOrNull(t.totalTokens),
    // ?? null: a trace spooled by an older version has none of these.
    cachedTokens: numOrNull(t.cachedTokens),
    reasoningTokens: numOrNull(t.reasoningTokens),
    costUsd: numOrNull(t.costUsd),
    bytesIn: num(t.bytesIn),
    bytesOut: num(t.bytesOut),
    directiveVersion: numOrNull(t.directiveVersion),
    servedModel: strOrNull(t.servedModel),
    attempts: attemptsOf(t.attempts),
    policyDecisions: decisionsOf(t.policyDecisions),
    cacheStatus: storedCacheStatus(t.cacheStatus),
  };
}

/**
 * Policy decisions: their four fields only, a bounded number of them and a bounded detail (a custom
 * policy writes its own reasons); null for none.
 */
function decisionsOf(v: unknown): PolicyDecisionRecord[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  return v.slice(0, 32).map((d: Partial<PolicyDecisionRecord> | null) => ({
    policy: String(d?.policy ?? '').slice(0, 200),
    phase: (d?.phase ?? 'request') as PolicyDecisionRecord['phase'],
    action: (d?.action ?? 'modify') as PolicyDecisionRecord['action'],
    detail: String(d?.detail ?? '').slice(0, 500),
  }));
}

/** Fallback attempts: provider, model and error code only, and a bounded number of them. */
function attemptsOf(v: unknown): ProviderAttempt[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, 32).map((a: Partial<ProviderAttempt> | null) => ({
    provider: String(a?.provider ?? ''),
    model: String(a?.model ?? ''),
    error: String(a?.error ?? ''),
  }));
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function numOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Stage durations only: finite numbers under short names. */
function stagesOf(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!v || typeof v !== 'object') return out;
  // for…in over own keys, not Object.entries: this runs for every request, and entries() allocates
  // an array per stage.
  const src = v as Record<string, unknown>;
  for (const k in src) {
    if (!Object.hasOwn(src, k)) continue;
    const ms = src[k];
    if (typeof ms === 'number' && Number.isFinite(ms) && k.length <= 64) out[k] = ms;
  }
  return out;
}
