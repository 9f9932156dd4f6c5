// Converts checkpoints written before the ledger (migration 0007): their messages move into
// `messages` and the row keeps their ids. Bounded batches, each its own transaction, so a large
// history converts without one long write lock; rerunning continues where it stopped.
import type { SqliteDb } from './db.js';
import { sqliteRefs, storeMessages } from './ledger.js';
import { messageText } from '../../ledger/message-body.js';

const PENDING = 'SELECT rowid AS rid, session_id, messages, created_at FROM checkpoints WHERE message_refs IS NULL LIMIT ?';
const CONVERT = "UPDATE checkpoints SET message_refs = ?, message_count = ?, messages = '[]' WHERE rowid = ?";

export function convertSqliteCheckpoints(db: SqliteDb, log: (line: string) => void, batch = 200): number {
  const step = db.writer((): number => {
    const rows = db.all<{ rid: number; session_id: string; messages: string; created_at: number }>(PENDING, batch);
    for (const r of rows) {
      const parsed = JSON.parse(r.messages) as unknown;
      const messages: unknown[] = Array.isArray(parsed) ? parsed : [];
      db.run(CONVERT, sqliteRefs(storeMessages(db, r.session_id, messages.map(messageText), r.created_at)), messages.length, r.rid);
    }
    return rows.length;
  });
  let total = 0;
  for (;;) {
    const n = step();
    total += n;
    if (n < batch) break;
  }
  if (total) log(`storage: sqlite ledger: converted ${total} checkpoint(s) to message references`);
  return total;
}
