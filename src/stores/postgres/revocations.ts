import type { RevocationEvent, RevocationKind, RevocationLog } from '../ports.js';
import { DEFAULT_SINCE_LIMIT, REVOCATION_COLS, toEvent, type RevocationRow as Row } from '../sql/revocations.js';
import { LOCKS, type PgDb, type Queryable } from './db.js';

/** Inserts one event; call inside the caller's transaction (revoke, disable). */
export async function insertRevocation(
  q: Queryable,
  event: { kind: RevocationKind; subject: string; patId?: string | null },
  at: number,
): Promise<RevocationEvent> {
  // Held until commit: the next writer numbers its event only after this one is visible.
  await q.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.revocationSeq]);
  const { rows } = await q.query<Row>(
    `INSERT INTO revocations (seq, kind, subject, pat_id, at)
     SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4 FROM revocations
     RETURNING ${REVOCATION_COLS}`,
    [event.kind, event.subject, event.patId ?? null, at],
  );
  return toEvent(rows[0]!);
}

export class PgRevocationLog implements RevocationLog {
  constructor(private readonly db: PgDb) {}

  async append(event: { kind: RevocationKind; subject: string; patId?: string | null }): Promise<RevocationEvent> {
    return this.db.tx((q) => insertRevocation(q, event, Date.now()));
  }

  async since(cursor: number, limit = DEFAULT_SINCE_LIMIT): Promise<RevocationEvent[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${REVOCATION_COLS} FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [cursor, limit],
    );
    return rows.map(toEvent);
  }

  async head(): Promise<number> {
    const rows = await this.db.query<{ head: number }>('SELECT COALESCE(MAX(seq), 0)::bigint AS head FROM revocations');
    return rows[0]!.head;
  }
}
