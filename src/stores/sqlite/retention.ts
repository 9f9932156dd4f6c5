// Retention on SQLite: bounded DELETE statements (batchSize rows each, chosen by the database through
// an index), with a pause between them so the write lock goes back to the checkpoint writer. Nothing
// is read into the process: counts come from `changes`. Order per run: traces; then the checkpoints
// of expired sessions, their message_sessions rows, the sessions themselves; then the messages no
// session uses any more.
import type { PruneCounts, PruneOptions } from '../ports.js';
import type { SqliteDb } from './db.js';

const DEFAULT_BATCH = 5000;
const DEFAULT_PAUSE_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A session is expired when last updated before the cutoff; it goes once its checkpoints went.
const DELETE = {
  traces: 'DELETE FROM traces WHERE rowid IN (SELECT rowid FROM traces WHERE started_at < ? LIMIT ?)',
  checkpoints: `DELETE FROM checkpoints WHERE rowid IN (
    SELECT c.rowid FROM sessions s JOIN checkpoints c ON c.session_id = s.id WHERE s.updated_at < ? LIMIT ?)`,
  message_sessions: `DELETE FROM message_sessions WHERE (session_id, message_id) IN (
    SELECT ms.session_id, ms.message_id FROM sessions s JOIN message_sessions ms ON ms.session_id = s.id
    WHERE s.updated_at < ? AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.session_id = s.id) LIMIT ?)`,
  sessions: `DELETE FROM sessions WHERE id IN (
    SELECT s.id FROM sessions s WHERE s.updated_at < ?
      AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.session_id = s.id)
      AND NOT EXISTS (SELECT 1 FROM message_sessions ms WHERE ms.session_id = s.id) LIMIT ?)`,
} as const;

const COUNT = {
  traces: 'SELECT COUNT(*) AS n FROM traces WHERE started_at < ?',
  checkpoints: 'SELECT COUNT(*) AS n FROM sessions s JOIN checkpoints c ON c.session_id = s.id WHERE s.updated_at < ?',
  message_sessions: 'SELECT COUNT(*) AS n FROM sessions s JOIN message_sessions ms ON ms.session_id = s.id WHERE s.updated_at < ?',
  sessions: 'SELECT COUNT(*) AS n FROM sessions WHERE updated_at < ?',
  // Messages that no surviving session uses.
  messages: `SELECT COUNT(*) AS n FROM messages m WHERE NOT EXISTS (
    SELECT 1 FROM message_sessions ms JOIN sessions s ON s.id = ms.session_id WHERE ms.message_id = m.id AND s.updated_at >= ?)`,
} as const;

// Garbage collection walks the id space in windows: each statement looks at batchSize ids at most.
const WINDOW_END = 'SELECT MAX(id) AS hi FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)';
const GC = `DELETE FROM messages WHERE id > ? AND id <= ?
  AND NOT EXISTS (SELECT 1 FROM message_sessions ms WHERE ms.message_id = messages.id)`;

export async function pruneSqlite(db: SqliteDb, opts: PruneOptions): Promise<PruneCounts> {
  const counts: PruneCounts = {};
  const { tracesBefore, sessionsBefore } = opts;
  if (opts.dryRun) {
    if (tracesBefore !== undefined) counts.traces = db.get<{ n: number }>(COUNT.traces, tracesBefore)!.n;
    if (sessionsBefore !== undefined) {
      for (const t of ['checkpoints', 'message_sessions', 'sessions', 'messages'] as const) {
        counts[t] = db.get<{ n: number }>(COUNT[t], sessionsBefore)!.n;
      }
    }
    return counts;
  }
  const batch = Math.max(1, opts.batchSize ?? DEFAULT_BATCH);
  const pause = opts.pauseMs ?? DEFAULT_PAUSE_MS;
  const maxBatches = opts.maxBatches ?? Infinity;
  const drain = async (table: keyof typeof DELETE, cutoff: number) => {
    counts[table] = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = db.writer(() => db.run(DELETE[table], cutoff, batch).changes)();
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
      const hi = db.get<{ hi: number | null }>(WINDOW_END, lo, batch)!.hi;
      if (hi === null) break;
      counts.messages += db.writer(() => db.run(GC, lo, hi).changes)();
      lo = hi;
      await sleep(pause);
    }
  }
  return counts;
}
