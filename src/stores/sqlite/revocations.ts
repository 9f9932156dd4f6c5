// The revocation log: append-only, read by every replica as `seq > cursor`. SQLite serializes
// writers, so AUTOINCREMENT order is commit order and a poller never skips an event.
import type { RevocationEvent, RevocationKind, RevocationLog } from '../ports.js';
import { DEFAULT_SINCE_LIMIT, REVOCATION_COLS, toEvent, type RevocationRow as Row } from '../sql/revocations.js';
import type { SqliteDb } from './db.js';

/** Inserts one event; call inside the caller's write transaction (revoke, disable). */
export function insertRevocation(
  db: SqliteDb,
  event: { kind: RevocationKind; subject: string; patId?: string | null },
  at: number,
): RevocationEvent {
  const r = db.run(
    'INSERT INTO revocations (kind, subject, pat_id, at) VALUES (?, ?, ?, ?)',
    event.kind,
    event.subject,
    event.patId ?? null,
    at,
  );
  return { seq: Number(r.lastInsertRowid), kind: event.kind, subject: event.subject, patId: event.patId ?? null, at };
}

export class SqliteRevocationLog implements RevocationLog {
  private readonly appendTx;

  constructor(private readonly db: SqliteDb) {
    this.appendTx = db.writer((event: { kind: RevocationKind; subject: string; patId?: string | null }) =>
      insertRevocation(db, event, Date.now()),
    );
  }

  async append(event: { kind: RevocationKind; subject: string; patId?: string | null }): Promise<RevocationEvent> {
    return this.appendTx(event);
  }

  async since(cursor: number, limit = DEFAULT_SINCE_LIMIT): Promise<RevocationEvent[]> {
    return this.db
      .all<Row>(`SELECT ${REVOCATION_COLS} FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, limit)
      .map(toEvent);
  }

  async head(): Promise<number> {
    return this.db.get<{ head: number }>('SELECT COALESCE(MAX(seq), 0) AS head FROM revocations')!.head;
  }
}
