// The usage report's query and totals, shared by `ibex usage` and `GET /admin/v1/usage` so both read
// their filters the same way and add up the same way.
import type { UsageGroup, UsageQuery, UsageRow } from '../stores/ports.js';
import { parseDuration } from '../util/duration.js';

export const USAGE_GROUPS: readonly UsageGroup[] = ['agent', 'pat', 'model', 'provider', 'day'];
export const DEFAULT_SINCE = '7d';

export class UsageQueryError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
    this.name = 'UsageQueryError';
  }
}

/**
 * `by` one of USAGE_GROUPS (default agent); `since` a duration back from now (`7d`, `12h`) or an ISO
 * date/time (default 7d); `until` likewise, optional. Throws UsageQueryError naming the bad one.
 */
export function parseUsageQuery(input: { by?: string; since?: string; until?: string; agent?: string }, now = Date.now()): UsageQuery {
  const by = (input.by ?? 'agent') as UsageGroup;
  if (!USAGE_GROUPS.includes(by)) throw new UsageQueryError(`by must be one of ${USAGE_GROUPS.join(', ')}, got "${input.by}"`, 'by');
  const since = instant(input.since ?? DEFAULT_SINCE, now, 'since');
  const q: UsageQuery = { by, since };
  if (input.until !== undefined && input.until !== '') q.until = instant(input.until, now, 'until');
  if (input.agent !== undefined && input.agent !== '') q.agent = input.agent;
  return q;
}

function instant(text: string, now: number, param: string): number {
  const back = parseDuration(text);
  if (back !== null) return now - back;
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isFinite(t)) return t;
  throw new UsageQueryError(`${param} must be a duration like 7d or 12h, or a date like 2025-06-01, got "${text}"`, param);
}

/** The sum of the rows: what the traces in the range add up to. */
export function usageTotal(rows: readonly UsageRow[]): Omit<UsageRow, 'key'> {
  const t = { requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, costUsd: 0, unpricedRequests: 0 };
  for (const r of rows) {
    t.requests += r.requests;
    t.promptTokens += r.promptTokens;
    t.completionTokens += r.completionTokens;
    t.totalTokens += r.totalTokens;
    t.cachedTokens += r.cachedTokens;
    t.reasoningTokens += r.reasoningTokens;
    t.costUsd += r.costUsd;
    t.unpricedRequests += r.unpricedRequests;
  }
  t.costUsd = Math.round(t.costUsd * 1e9) / 1e9;
  return t;
}

/** The JSON document of both the CLI's --json and the admin route. */
export function usageReport(q: UsageQuery, rows: UsageRow[]) {
  return {
    by: q.by,
    since: new Date(q.since).toISOString(),
    until: q.until !== undefined ? new Date(q.until).toISOString() : null,
    agent: q.agent ?? null,
    rows,
    total: usageTotal(rows),
  };
}
