// `ibex sessions export` on SQLite: checkpoints oldest first, one page at a time by keyset
// (created_at, request_id), so memory holds one page and its messages whatever the total.
import type { Checkpoint, ExportFilter } from '../ports.js';
import { CHECKPOINT_COLS, refsOf, toCheckpoint, type CheckpointRow } from '../sql/sessions.js';
import { sqliteDecode, type SqliteDb } from './db.js';
import { messageBodies } from './ledger.js';

const DEFAULT_PAGE = 500;

export async function* exportSqliteCheckpoints(db: SqliteDb, filter: ExportFilter): AsyncGenerator<Checkpoint> {
  const page = Math.max(1, filter.pageSize ?? DEFAULT_PAGE);
  const where = ['(created_at, request_id) > (?, ?)', 'created_at >= ?'];
  if (filter.agent !== undefined) where.push('agent = ?');
  const sql = `SELECT ${CHECKPOINT_COLS} FROM checkpoints WHERE ${where.join(' AND ')} ORDER BY created_at, request_id LIMIT ?`;
  let after: [number, string] = filter.after ? [filter.after.createdAt, filter.after.requestId] : [-Infinity, ''];
  for (;;) {
    const params: unknown[] = [after[0] === -Infinity ? -1e18 : after[0], after[1], filter.since ?? -1e18];
    if (filter.agent !== undefined) params.push(filter.agent);
    const rows = db.all<CheckpointRow<string, number>>(sql, ...params, page);
    if (!rows.length) return;
    const bodies = messageBodies(db, rows.flatMap((r) => refsOf(r) ?? []));
    for (const r of rows) yield toCheckpoint(r, sqliteDecode, bodies);
    const last = rows[rows.length - 1]!;
    after = [last.created_at, last.request_id];
    if (rows.length < page) return;
  }
}
