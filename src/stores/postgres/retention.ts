// Retention on Postgres. Nothing is read into the process: rows are counted and deleted by the
// database.
// Traces (partitioned by UTC day of started_at, migration 0012): every day partition whose upper
// bound is at or before the cutoff is dropped whole, and the expired rows of traces_default (days
// without a partition) are deleted in batches. The day straddling the cutoff is kept until all of it
// has expired: deleting its rows as the cutoff moves through it would bring back row-by-row deletion
// of every trace, which the partitions are there to avoid. So a trace lives up to one day longer than
// the retention (docs/operations.md), as with ClickHouse's day partitions. Each run first makes the
// partitions of today and the next 2 days (trace-partitions.ts).
// Sessions, checkpoints, message_sessions and messages keep bounded DELETE statements (batchSize rows
// each, picked through an index, a pause between them): a session expires by its last update, which
// no partition of checkpoints by creation day can express, and messages are shared across sessions.
// Order per run: traces; then the checkpoints of expired sessions, their message_sessions rows, the
// sessions themselves; then the messages no session uses any more.
import type { PruneCounts, PruneOptions } from '../ports.js';
import { FOREIGN_KEY_VIOLATION, pgCode, type PgDb } from './db.js';
import { DEFAULT_PARTITION, dropTracePartition, ensureTracePartitions, expiredTracePartitions, partitionRows } from './trace-partitions.js';

const DEFAULT_BATCH = 5000;
const DEFAULT_PAUSE_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DELETE = {
  traces: `DELETE FROM ${DEFAULT_PARTITION} WHERE (request_id, started_at) IN (
    SELECT request_id, started_at FROM ${DEFAULT_PARTITION} WHERE started_at < $1 LIMIT $2)`,
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
  traces: `SELECT COUNT(*)::bigint AS n FROM ${DEFAULT_PARTITION} WHERE started_at < $1`,
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
    if (tracesBefore !== undefined) {
      // What a real run would remove: the expired partitions whole, and the default's expired rows.
      counts.traces = await count(COUNT.traces, tracesBefore);
      for (const p of await expiredTracePartitions(db, tracesBefore)) counts.traces += await partitionRows(db, p.name);
    }
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
    counts[table] ??= 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await run(DELETE[table], [cutoff, batch]);
      counts[table] += n;
      if (n < batch) return;
      await sleep(pause);
    }
  };
  if (tracesBefore !== undefined) {
    await ensureTracePartitions(db);
    // One DROP per expired day, not bounded by maxBatches: each is a catalog change, whatever its rows.
    counts.traces = 0;
    for (const p of await expiredTracePartitions(db, tracesBefore)) counts.traces += (await dropTracePartition(db, p.name)) ?? 0;
    await drain('traces', tracesBefore);
  }
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
