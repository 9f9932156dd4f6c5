// `ibex sessions export` on Postgres: checkpoints oldest first, one page at a time by keyset
// (created_at, request_id) on the checkpoints_created index, so memory holds one page and its
// messages whatever the total (and no transaction stays open between pages).
import type { Checkpoint, ExportFilter } from '../ports.js';
import { CHECKPOINT_COLS, refsOf, toCheckpoint, type CheckpointRow } from '../sql/sessions.js';
import { pgDecode, type PgDb } from './db.js';
import { messageBodies } from './ledger.js';

const DEFAULT_PAGE = 500;

export async function* exportPgCheckpoints(db: PgDb, filter: ExportFilter): AsyncGenerator<Checkpoint> {
  const page = Math.max(1, filter.pageSize ?? DEFAULT_PAGE);
  const agentClause = filter.agent !== undefined ? ' AND agent = $5' : '';
  const sql = `SELECT ${CHECKPOINT_COLS} FROM checkpoints
    WHERE (created_at, request_id) > ($1, $2) AND created_at >= $3${agentClause}
    ORDER BY created_at, request_id LIMIT $4`;
  let after: [number, string] = filter.after ? [filter.after.createdAt, filter.after.requestId] : [Number.MIN_SAFE_INTEGER, ''];
  for (;;) {
    const params: unknown[] = [after[0], after[1], filter.since ?? Number.MIN_SAFE_INTEGER, page];
    if (filter.agent !== undefined) params.push(filter.agent);
    const rows = await db.query<CheckpointRow<unknown, boolean>>(sql, params);
    if (!rows.length) return;
    const bodies = await messageBodies(db.pool, rows.flatMap((r) => refsOf(r) ?? []));
    for (const r of rows) yield toCheckpoint(r, pgDecode, bodies);
    const last = rows[rows.length - 1]!;
    after = [last.created_at, last.request_id];
    if (rows.length < page) return;
  }
}
