// Retention on Postgres: bounded DELETE statements (batchSize rows each, picked through an index by
// the database: nothing is read into the process), with a pause between them. Traces are deleted by
// their indexed start time in batches rather than by dropping day partitions: converting `traces` to
// a partitioned table is a table rewrite we leave to a later migration (docs/operations.md).
// Order per run: traces; then the checkpoints of expired sessions, their message_sessions rows, the
// sessions themselves; then the messages no session uses any more.
import type { PruneCounts, PruneOptions } from '../ports.js';
import { FOREIGN_KEY_VIOLATION, pgCode, type PgDb } from './db.js';

const DEFAULT_BATCH = 5000;
const DEFAULT_PAUSE_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DELETE = {
  traces: `DELETE FROM traces WHERE (request_id, started_at) IN (
    SELECT request_id, started_at FROM traces WHERE started_at < $1 LIMIT $2)`,
  checkpoints: `DELETE FROM checkpoints WHERE (session_id, seq) IN (
    SELECT c.session_id, c.seq FROM sessions s JOIN checkpoints c ON c.session_id = s.id WHERE s.updated_at < $1 LIMIT $2)`,
  message_sessions: `DELETE FROM message_sessions WHERE (session_id, message_id) IN (
    SELECT ms.session_id, ms.message_id FROM sessions s JOIN message_sessions ms ON ms.session_id = s.id
    WHERE s.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.session_id = s.id) LIMIT $2)`,
  sessions: `DELETE FROM sessions WHERE id IN (
    SELECT s.id FROM sessions s WHERE s.updated_at < $1
      AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.session_id = s.id)
      AND NOT EXISTS (SELECT 1 FROM message_sessions ms WHERE ms.session_id = s.id) LIMIT $2)`,
} as const;

const COUNT = {
  traces: 'SELECT COUNT(*)::bigint AS n FROM traces WHERE started_at < $1',
  checkpoints: 'SELECT COUNT(*)::bigint AS n FROM sessions s JOIN checkpoints c ON c.session_id = s.id WHERE s.updated_at < $1',
  message_sessions: 'SELECT COUNT(*)::bigint AS n FROM sessions s JOIN message_sessions ms ON ms.session_id = s.id WHERE s.updated_at < $1',
  sessions: 'SELECT COUNT(*)::bigint AS n FROM sessions WHERE updated_at < $1',
  messages: `SELECT COUNT(*)::bigint AS n FROM messages m WHERE NOT EXISTS (
    SELECT 1 FROM message_sessions ms JOIN sessions s ON s.id = ms.session_id WHERE ms.message_id = m.id AND s.updated_at >= $1)`,
} as const;

const WINDOW_END = 'SELECT MAX(id) AS hi FROM (SELECT id FROM messages WHERE id > $1 ORDER BY id LIMIT $2) w';
const GC = `DELETE FROM messages m WHERE m.id > $1 AND m.id <= $2
  AND NOT EXISTS (SELECT 1 FROM message_sessions ms WHERE ms.message_id = m.id)`;

export async function prunePg(db: PgDb, opts: PruneOptions): Promise<PruneCounts> {
  const counts: PruneCounts = {};
  const { tracesBefore, sessionsBefore } = opts;
  const count = async (sql: string, cutoff: number) => Number((await db.query<{ n: number }>(sql, [cutoff]))[0]!.n);
  if (opts.dryRun) {
    if (tracesBefore !== undefined) counts.traces = await count(COUNT.traces, tracesBefore);
    if (sessionsBefore !== undefined) {
      for (const t of ['checkpoints', 'message_sessions', 'sessions', 'messages'] as const) counts[t] = await count(COUNT[t], sessionsBefore);
    }
    return counts;
  }
  const batch = Math.max(1, opts.batchSize ?? DEFAULT_BATCH);
  const pause = opts.pauseMs ?? DEFAULT_PAUSE_MS;
  const maxBatches = opts.maxBatches ?? Infinity;
  const run = async (sql: string, params: unknown[]) => (await db.pool.query(sql, params)).rowCount ?? 0;
  const drain = async (table: keyof typeof DELETE, cutoff: number) => {
    counts[table] = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await run(DELETE[table], [cutoff, batch]);
      counts[table] += n;
      if (n < batch) return;
      await sleep(pause);
    }
  };
  if (tracesBefore !== undefined) await drain('traces', tracesBefore);
  if (sessionsBefore !== undefined) {
    await drain('checkpoints', sessionsBefore);
    await drain('message_sessions', sessionsBefore);
    await drain('sessions', sessionsBefore);
    counts.messages = 0;
    let lo = 0;
    for (let i = 0; i < maxBatches; i++) {
      const hi = (await db.query<{ hi: string | number | null }>(WINDOW_END, [lo, batch]))[0]!.hi;
      if (hi === null) break;
      try {
        counts.messages += await run(GC, [lo, Number(hi)]);
      } catch (err) {
        // A checkpoint reused one of these messages while we deleted: the foreign key stopped us.
        // This window is left for the next run.
        if (pgCode(err) !== FOREIGN_KEY_VIOLATION) throw err;
      }
      lo = Number(hi);
      await sleep(pause);
    }
  }
  return counts;
}
