// /admin/v1/overview: the dashboard's first screen, computed from the trace store (so it covers every
// replica, unlike one process's /metrics): request rate, error rate, latency and overhead percentiles,
// the busiest agents and models, and a request/error series over the window.
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../errors.js';
import type { Trace } from '../stores/ports.js';
import { parseDuration } from '../util/duration.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { errors, Overview, OverviewQuery } from './schemas.js';

/** At most this many traces are read per overview (newest first); beyond it the answer says `truncated`. */
export const OVERVIEW_MAX_TRACES = 50_000;
const PAGE = 5_000;
const SERIES_POINTS = 30;
const MIN_WINDOW_MS = 30_000;
const MAX_WINDOW_MS = 86_400_000;

export const isError = (t: Pick<Trace, 'status' | 'errorCode'>) => t.status >= 400 || t.errorCode !== null;

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function top<K extends string>(counts: Map<string | null, number>, key: K, n = 5): ({ [P in K]: string | null } & { requests: number })[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
    .slice(0, n)
    .map(([k, requests]) => ({ [key]: k, requests }) as { [P in K]: string | null } & { requests: number });
}

/** The overview of `traces` (any order) for the window [now - windowMs, now]. */
export function summarise(traces: Trace[], windowMs: number, now: number, truncated: boolean, label: string) {
  const start = now - windowMs;
  const step = Math.max(1000, Math.ceil(windowMs / SERIES_POINTS / 1000) * 1000);
  const buckets = Math.ceil(windowMs / step);
  const series = Array.from({ length: buckets }, (_, i) => ({ t: new Date(start + i * step).toISOString(), requests: 0, errors: 0 }));
  const agents = new Map<string | null, number>();
  const models = new Map<string | null, number>();
  const latency: number[] = [];
  const overhead: number[] = [];
  let errorCount = 0;
  for (const t of traces) {
    const failed = isError(t);
    if (failed) errorCount++;
    latency.push(t.totalMs);
    overhead.push(t.overheadMs);
    agents.set(t.agent, (agents.get(t.agent) ?? 0) + 1);
    models.set(t.model, (models.get(t.model) ?? 0) + 1);
    const b = series[Math.min(buckets - 1, Math.max(0, Math.floor((t.startedAt - start) / step)))]!;
    b.requests++;
    if (failed) b.errors++;
  }
  latency.sort((a, b) => a - b);
  overhead.sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    window: label,
    requests: traces.length,
    rps: Math.round((traces.length / (windowMs / 1000)) * 1000) / 1000,
    errorRate: traces.length ? Math.round((errorCount / traces.length) * 10_000) / 10_000 : 0,
    latency: { p50: round(percentile(latency, 50)), p99: round(percentile(latency, 99)) },
    overhead: { p50: round(percentile(overhead, 50)), p99: round(percentile(overhead, 99)) },
    costTodayUsd: null,
    topAgents: top(agents, 'agent'),
    topModels: top(models, 'model'),
    series,
    truncated,
  };
}

export function registerOverviewRoute(app: FastifyInstance, deps: AdminApiDeps): void {
  const now = deps.now ?? Date.now;
  app.get(
    `${ADMIN_PREFIX}/overview`,
    {
      schema: {
        tags: ['overview'],
        summary: 'Traffic over the last window, from the trace store',
        querystring: OverviewQuery,
        response: { 200: Overview, ...errors(400) },
      },
    },
    async (request) => {
      const label = ((request.query as { window?: string }).window ?? '5m').trim();
      const windowMs = parseDuration(label);
      if (windowMs === null || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) {
        throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: '`window` must be a duration from 30s to 24h, e.g. 5m or 1h.', param: 'window' });
      }
      const at = now();
      const traces: Trace[] = [];
      let before: { startedAt: number; requestId: string } | undefined;
      let truncated = false;
      for (;;) {
        const rows = await deps.stores.traces.list({ since: at - windowMs, before, limit: PAGE });
        traces.push(...rows.filter((t) => t.startedAt <= at));
        if (rows.length < PAGE) break;
        if (traces.length >= OVERVIEW_MAX_TRACES) {
          truncated = true;
          break;
        }
        const last = rows[rows.length - 1]!;
        before = { startedAt: last.startedAt, requestId: last.requestId };
      }
      return summarise(traces, windowMs, at, truncated, label);
    },
  );
}
