// The content-addressed message store on SQLite (docs/adr/0010-content-addressed-ledger.md): each
// distinct message once in `messages`, a checkpoint keeps their ids, `message_sessions` says which
// sessions use one (for garbage collection after retention). Runs inside the caller's write
// transaction, which SQLite serialises, so "find or insert" cannot race a deletion.
import { messageBody } from '../../ledger/message-body.js';
import type { SqliteDb } from './db.js';
import type { SessionMessagesMemo } from './session-messages-memo.js';

const FIND = 'SELECT id FROM messages WHERE hash = ?';
const INSERT = 'INSERT INTO messages (hash, body, bytes, created_at) VALUES (?, ?, ?, ?) RETURNING id';
const USE = 'INSERT INTO message_sessions (session_id, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING';
const BODIES = 'SELECT id, body FROM messages WHERE id IN (SELECT value FROM json_each(?))';

/**
 * Stores the messages (their stored texts) not stored yet and returns the ids of all of them, in order.
 * Call inside a write transaction. With `memo`, the messages this session's last stored turn began with
 * are neither looked up nor recorded again (session-messages-memo.ts); `turn` is this one's number.
 */
export function storeMessages(db: SqliteDb, sessionId: string, texts: readonly string[], at: number, memo?: { of: SessionMessagesMemo; turn: number }): number[] {
  // A session's first turn is not remembered (session-messages-memo.ts)
  const remember = memo && memo.turn > 1 ? memo.of : undefined;
  const known = remember?.get(sessionId);
  let shared = 0;
  if (known) while (shared < texts.length && shared < known.texts.length && known.texts[shared] === texts[shared]) shared++;
  const ids = known ? known.ids.slice(0, shared) : [];
  // The session's use of those is recorded already
  const used = new Set<number>(ids);
  for (let i = shared; i < texts.length; i++) {
    const b = messageBody(texts[i]!);
    const id = db.get<{ id: number }>(FIND, b.hash)?.id ?? db.get<{ id: number }>(INSERT, b.hash, b.body, b.bytes, at)!.id;
    ids.push(id);
    if (!used.has(id)) {
      used.add(id);
      db.run(USE, sessionId, id);
    }
  }
  remember?.stage(sessionId, { texts, ids });
  return ids;
}

/** id → JSON text of the given messages (one statement, however many). */
export function messageBodies(db: SqliteDb, ids: Iterable<number>): Map<number, string> {
  const list = [...new Set(ids)];
  if (!list.length) return new Map();
  return new Map(db.all<{ id: number; body: string }>(BODIES, JSON.stringify(list)).map((r) => [r.id, r.body]));
}

export const sqliteRefs = (ids: number[]): string => JSON.stringify(ids);
