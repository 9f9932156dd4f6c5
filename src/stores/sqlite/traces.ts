import type { Trace, TraceFilter, TraceSink, UsageQuery, UsageRow } from '../ports.js';
import { toUsageRow, usageSql, type UsageSqlRow } from '../sql/usage.js';
import { listLimit } from '../relational.js';
import { TRACE_COLS as COLS, TRACE_COLUMNS, toTrace, traceFilterConditions, traceParams, type TraceRow } from '../sql/traces.js';
import { sqliteDecode, sqliteEncode, type SqliteDb } from './db.js';

type Row = TraceRow<string, number>;

// Built once: the statement cache then finds it by the same string for every row. Idempotent: the
// emitter may resend a batch whose ack it never saw.
const INSERT_TRACE = `INSERT INTO traces (${COLS}) VALUES (${TRACE_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (request_id, started_at) DO NOTHING`;

export class SqliteTraceSink implements TraceSink {
  private readonly writeTx;

  constructor(private readonly db: SqliteDb) {
    this.writeTx = db.writer((batch: Trace[]) => {
      for (const t of batch) db.run(INSERT_TRACE, ...traceParams(t, sqliteEncode));
    });
  }

  async write(batch: Trace[]): Promise<void> {
    if (batch.length) this.writeTx(batch);
  }

  /** Most recent first (by start time); `limit` defaults to 50. */
  async list(filter?: TraceFilter): Promise<Trace[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter?.agent) {
      where.push('agent = ?');
      params.push(filter.agent);
    }
    if (filter?.sessionId) {
      where.push('session_id = ?');
      params.push(filter.sessionId);
    }
    if (filter?.requestId) {
      // The caller's X-Request-Id or ibex's own: an operator has whichever the user reported.
      where.push('(client_request_id = ? OR request_id = ?)');
      params.push(filter.requestId, filter.requestId);
    }
    where.push(...traceFilterConditions(filter, (v) => (params.push(v), '?')));
    // A few dozen distinct SQL strings at most (one per combination of filters), so the statement cache stays small.
    const sql = `SELECT ${COLS} FROM traces ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY started_at DESC, request_id DESC LIMIT ?`;
    return this.db.all<Row>(sql, ...params, listLimit(filter?.limit)).map((r) => toTrace(r, sqliteDecode));
  }

  /** Totals per group (`ibex usage`). */
  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const { sql, params } = usageSql(query, { day: "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')", param: () => '?' });
    return this.db.all<UsageSqlRow>(sql, ...params).map(toUsageRow);
  }
}
