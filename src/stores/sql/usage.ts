// `ibex usage` over the relational trace table: one GROUP BY, the same for SQLite and Postgres but for
// how a start time becomes a UTC day and how parameters are written.
import type { UsageQuery, UsageRow } from '../ports.js';

export interface UsageDialect {
  /** The expression of `started_at` (epoch ms) as a UTC `YYYY-MM-DD` */
  day: string;
  /** The placeholder of the n-th parameter (1-based) */
  param(n: number): string;
}

const GROUP_COLUMN = { agent: 'agent', pat: 'pat_id', model: 'model', provider: 'provider' } as const;

export function usageSql(q: UsageQuery, d: UsageDialect): { sql: string; params: unknown[] } {
  const params: unknown[] = [q.since];
  const where = [`started_at >= ${d.param(1)}`];
  if (q.until !== undefined) {
    params.push(q.until);
    where.push(`started_at < ${d.param(params.length)}`);
  }
  if (q.agent !== undefined) {
    params.push(q.agent);
    where.push(`agent = ${d.param(params.length)}`);
  }
  const key = q.by === 'day' ? d.day : GROUP_COLUMN[q.by];
  const sql = `SELECT ${key} AS k, COUNT(*) AS requests,
      COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, COALESCE(SUM(completion_tokens), 0) AS completion_tokens,
      COALESCE(SUM(total_tokens), 0) AS total_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
      COALESCE(SUM(reasoning_tokens), 0) AS reasoning_tokens, COALESCE(SUM(cost_usd), 0) AS cost_usd,
      SUM(CASE WHEN cost_usd IS NULL AND total_tokens IS NOT NULL THEN 1 ELSE 0 END) AS unpriced
    FROM traces WHERE ${where.join(' AND ')}
    GROUP BY ${key} ORDER BY cost_usd DESC, total_tokens DESC, k`;
  return { sql, params };
}

export interface UsageSqlRow {
  k: string | null;
  requests: number | string;
  prompt_tokens: number | string;
  completion_tokens: number | string;
  total_tokens: number | string;
  cached_tokens: number | string;
  reasoning_tokens: number | string;
  cost_usd: number | string;
  unpriced: number | string;
}

/** Sums arrive as numbers (SQLite) or numeric strings (Postgres SUM of integers). */
export const toUsageRow = (r: UsageSqlRow): UsageRow => ({
  key: r.k === null || r.k === undefined ? null : String(r.k),
  requests: Number(r.requests),
  promptTokens: Number(r.prompt_tokens),
  completionTokens: Number(r.completion_tokens),
  totalTokens: Number(r.total_tokens),
  cachedTokens: Number(r.cached_tokens),
  reasoningTokens: Number(r.reasoning_tokens),
  costUsd: Number(r.cost_usd),
  unpricedRequests: Number(r.unpriced),
});
