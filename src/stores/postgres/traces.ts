import type { Trace, TraceFilter, TraceSink, UsageQuery, UsageRow } from '../ports.js';
import { toUsageRow, usageSql, type UsageSqlRow } from '../sql/usage.js';
import { listLimit } from '../relational.js';
import { TRACE_COLS as COLS, TRACE_COLUMNS, toTrace, traceFilterConditions, traceParams, type TraceColumn, type TraceRow } from '../sql/traces.js';
import { pgDecode, pgEncode, type PgDb } from './db.js';

type Row = TraceRow<unknown, boolean>;

/** Column → Postgres array type for the unnest() insert. */
const PG_TYPES: Record<TraceColumn, string> = {
  request_id: 'text',
  client_request_id: 'text',
  session_id: 'text',
  agent: 'text',
  pat_id: 'text',
  model: 'text',
  provider: 'text',
  stream: 'boolean',
  status: 'integer',
  error_code: 'text',
  started_at: 'bigint',
  total_ms: 'double precision',
  upstream_ttfb_ms: 'double precision',
  upstream_ms: 'double precision',
  overhead_ms: 'double precision',
  stages: 'jsonb',
  prompt_tokens: 'integer',
  completion_tokens: 'integer',
  total_tokens: 'integer',
  bytes_in: 'bigint',
  bytes_out: 'bigint',
  directive_version: 'integer',
  served_model: 'text',
  attempts: 'text',
  cached_tokens: 'integer',
  reasoning_tokens: 'integer',
  cost_usd: 'double precision',
  policy_decisions: 'text',
  cache_status: 'text',
};

// One statement per batch whatever its size: each column travels as one array parameter.
const INSERT = `INSERT INTO traces (${COLS})
  SELECT * FROM unnest(${TRACE_COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')})
  ON CONFLICT (request_id, started_at) DO NOTHING`;

export class PgTraceSink implements TraceSink {
  constructor(private readonly db: PgDb) {}

  /** Idempotent: a resent trace (same requestId) is skipped, so emitter retries are safe. */
  async write(batch: Trace[]): Promise<void> {
    if (!batch.length) return;
    // A requestId repeated inside the batch: keep the first, as a resend of a stored one is.
    const seen = new Set<string>();
    const firsts = batch.filter((t) => !seen.has(t.requestId) && seen.add(t.requestId));
    const values = firsts.map((t) => traceParams(t, pgEncode));
    // Row-wise values turned column-wise: parameter i is the array of column i.
    await this.db.query(INSERT, TRACE_COLUMNS.map((_, i) => values.map((v) => v[i])));
  }

  /** Most recent first (by start time); `limit` defaults to 50. */
  async list(filter?: TraceFilter): Promise<Trace[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.agent) {
      params.push(filter.agent);
      where.push(`agent = $${params.length}`);
    }
    if (filter?.sessionId) {
      params.push(filter.sessionId);
      where.push(`session_id = $${params.length}`);
    }
    if (filter?.requestId) {
      // The caller's X-Request-Id or ibex's own: an operator has whichever the user reported.
      params.push(filter.requestId);
      where.push(`(client_request_id = $${params.length} OR request_id = $${params.length})`);
    }
    where.push(...traceFilterConditions(filter, (v) => `$${params.push(v)}`));
    params.push(listLimit(filter?.limit));
    const rows = await this.db.query<Row>(
      `SELECT ${COLS} FROM traces ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY started_at DESC, request_id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => toTrace(r, pgDecode));
  }

  /** Totals per group (`ibex usage`). */
  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const { sql, params } = usageSql(query, {
      day: "to_char(to_timestamp(started_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
      param: (n) => `$${n}`,
    });
    return (await this.db.query<UsageSqlRow>(sql, params)).map(toUsageRow);
  }
}
