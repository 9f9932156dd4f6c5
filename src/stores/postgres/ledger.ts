// The content-addressed message store on Postgres (docs/adr/0010-content-addressed-ledger.md). Inside
// the checkpoint's transaction: insert the messages not stored yet, then read all their ids FOR KEY
// SHARE. That lock makes a concurrent garbage collection wait (or fail on the message_sessions
// foreign key) instead of deleting a message this transaction is about to use; a message it deleted
// just before is simply inserted again on the next try.
import { messageBody, type MessageBody } from '../../ledger/message-body.js';
import type { Queryable } from './db.js';

const INSERT = `INSERT INTO messages (hash, body, bytes, created_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])
  ON CONFLICT (hash) DO NOTHING`;
const FIND = 'SELECT id, hash FROM messages WHERE hash = ANY($1::text[]) FOR KEY SHARE';
const USE = `INSERT INTO message_sessions (session_id, message_id)
  SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`;
const TRIES = 3;

/** Stores the messages (their stored texts) not stored yet and returns the ids of all of them, in order. */
export async function storeMessages(q: Queryable, sessionId: string, texts: readonly string[], at: number): Promise<number[]> {
  if (!texts.length) return [];
  const bodies = texts.map(messageBody);
  const byHash = new Map<string, MessageBody>();
  for (const b of bodies) byHash.set(b.hash, b);
  const ids = new Map<string, number>();
  for (let i = 0; i < TRIES && ids.size < byHash.size; i++) {
    // Sorted: two transactions inserting the same new messages take their index locks in one order.
    const missing = [...byHash.values()].filter((b) => !ids.has(b.hash)).sort((a, b) => (a.hash < b.hash ? -1 : 1));
    await q.query(INSERT, [missing.map((b) => b.hash), missing.map((b) => b.body), missing.map((b) => b.bytes), missing.map(() => at)]);
    const { rows } = await q.query<{ id: string | number; hash: string }>(FIND, [missing.map((b) => b.hash)]);
    for (const r of rows) ids.set(r.hash, Number(r.id));
  }
  if (ids.size < byHash.size) throw new Error('ledger: messages deleted while being stored, three times in a row');
  const list = bodies.map((b) => ids.get(b.hash)!);
  await q.query(USE, [sessionId, [...new Set(list)]]);
  return list;
}

/** id → JSON text of the given messages. */
export async function messageBodies(q: Queryable, ids: Iterable<number>): Promise<Map<number, string>> {
  const list = [...new Set(ids)];
  if (!list.length) return new Map();
  const { rows } = await q.query<{ id: string | number; body: string }>('SELECT id, body FROM messages WHERE id = ANY($1::bigint[])', [list]);
  return new Map(rows.map((r) => [Number(r.id), r.body]));
}
