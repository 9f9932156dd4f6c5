// Converts checkpoints written before the ledger (migration 0007): their messages move into
// `messages` and the row keeps their ids. Bounded batches, each its own transaction (rows taken
// FOR UPDATE SKIP LOCKED, so replicas starting together share the work); rerunning continues.
import type { PgDb } from './db.js';
import { storeMessages } from './ledger.js';
import { messageText } from '../../ledger/message-body.js';

const PENDING = `SELECT session_id, seq, messages, created_at FROM checkpoints WHERE message_refs IS NULL
  ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`;
const CONVERT = `UPDATE checkpoints SET message_refs = $3::bigint[], message_count = $4, messages = '[]'::json
  WHERE session_id = $1 AND seq = $2`;

export async function convertPgCheckpoints(db: PgDb, log: (line: string) => void, batch = 200): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.tx(async (q) => {
      const { rows } = await q.query<{ session_id: string; seq: number; messages: unknown; created_at: number }>(PENDING, [batch]);
      for (const r of rows) {
        const messages: unknown[] = Array.isArray(r.messages) ? r.messages : [];
        const refs = await storeMessages(q, r.session_id, messages.map(messageText), r.created_at);
        await q.query(CONVERT, [r.session_id, r.seq, refs, messages.length]);
      }
      return rows.length;
    });
    total += n;
    if (n < batch) break;
  }
  if (total) log(`storage: postgres ledger: converted ${total} checkpoint(s) to message references`);
  return total;
}
