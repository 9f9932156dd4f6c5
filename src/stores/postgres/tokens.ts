import { ConflictError, NotFoundError, type NewPat, type PatRecord, type TokenStore } from '../ports.js';
import { ambiguousPatMessage } from '../relational.js';
import { createdPat, PAT_COLS, toPat as toPatWith, type PatRow } from '../sql/tokens.js';
import { limitAssignments } from '../sql/limits.js';
import { LOCKS, pgCode, pgDecode, UNIQUE_VIOLATION, type PgDb, type Queryable } from './db.js';
import { insertRevocation } from './revocations.js';

type Row = PatRow<string[]>;

const SELECT = `SELECT ${PAT_COLS},
  ARRAY(SELECT agent FROM pat_agents WHERE pat_id = p.id ORDER BY position) AS agents
  FROM pats p`;

const toPat = (r: Row): PatRecord => toPatWith(r, pgDecode);

export class PgTokenStore implements TokenStore {
  constructor(private readonly db: PgDb) {}

  async create(pat: NewPat): Promise<PatRecord> {
    const agents = [...new Set(pat.agents)];
    const createdAt = Date.now();
    try {
      await this.db.tx(async (q) => {
        const known = await q.query<{ name: string }>('SELECT name FROM agents WHERE name = ANY($1::text[])', [agents]);
        const missing = agents.filter((a) => !known.rows.some((r) => r.name === a));
        if (missing.length) throw new NotFoundError(`unknown agent${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
        // Held until commit, so creation numbers become visible in order (see LOCKS).
        await q.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.patSeq]);
        await q.query(
          `INSERT INTO pats (id, seq, prefix, hash, name, rpm, created_at, expires_at, revoked_at)
           SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, NULL FROM pats`,
          [pat.id, pat.prefix, pat.hash, pat.name ?? null, pat.rpm ?? null, createdAt, pat.expiresAt ?? null],
        );
        await q.query(
          `INSERT INTO pat_agents (pat_id, agent, position)
           SELECT $1, a.agent, a.ord - 1 FROM unnest($2::text[]) WITH ORDINALITY AS a(agent, ord)`,
          [pat.id, agents],
        );
        const limits = limitAssignments(pat);
        if (limits.columns.length) {
          await q.query(`UPDATE pats SET ${limits.columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [pat.id, ...limits.values]);
        }
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new ConflictError('a token with this id or hash already exists');
      throw err;
    }
    return createdPat(pat, agents, createdAt);
  }

  async findByHash(hash: string): Promise<PatRecord | null> {
    const rows = await this.db.query<Row>(`${SELECT} WHERE p.hash = $1`, [hash]);
    return rows[0] ? toPat(rows[0]) : null;
  }

  async find(idOrPrefix: string): Promise<PatRecord | null> {
    return lookup(this.db.pool, idOrPrefix);
  }

  /** Most recently created first. */
  async list(filter?: { agent?: string }): Promise<PatRecord[]> {
    const rows = filter?.agent
      ? await this.db.query<Row>(
          `${SELECT} WHERE p.id IN (SELECT pat_id FROM pat_agents WHERE agent = $1) ORDER BY p.seq DESC`,
          [filter.agent],
        )
      : await this.db.query<Row>(`${SELECT} ORDER BY p.seq DESC`);
    return rows.map(toPat);
  }

  async revoke(idOrPrefix: string): Promise<PatRecord | null> {
    return this.db.tx(async (q) => {
      const pat = await lookup(q, idOrPrefix, ' FOR UPDATE OF p');
      if (!pat || pat.revokedAt !== null) return pat; // unknown, or already revoked: nothing to append
      const at = Date.now();
      await q.query('UPDATE pats SET revoked_at = $1 WHERE id = $2', [at, pat.id]);
      await insertRevocation(q, { kind: 'pat', subject: pat.hash, patId: pat.id }, at);
      return { ...pat, revokedAt: at };
    });
  }

  /** Not revoked and not expired: the only hashes a request could still authenticate with. */
  async allHashes(): Promise<string[]> {
    const rows = await this.db.query<{ hash: string }>(
      'SELECT hash FROM pats WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)',
      [Date.now()],
    );
    return rows.map((r) => r.hash);
  }

  async createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }> {
    const rows = await this.db.query<{ seq: number; hash: string }>(
      'SELECT seq, hash FROM pats WHERE seq > $1 ORDER BY seq',
      [cursor],
    );
    return { hashes: rows.map((r) => r.hash), cursor: rows.length ? rows[rows.length - 1]!.seq : cursor };
  }
}

/** id, then exact display prefix, then unique start of a display prefix (same rules as SQLite). */
async function lookup(q: Queryable, idOrPrefix: string, lock = ''): Promise<PatRecord | null> {
  if (!idOrPrefix) return null;
  const steps = [`${SELECT} WHERE p.id = $1`, `${SELECT} WHERE p.prefix = $1`, `${SELECT} WHERE starts_with(p.prefix, $1)`];
  for (const sql of steps) {
    const { rows } = await q.query<Row>(`${sql} LIMIT 2${lock}`, [idOrPrefix]);
    if (rows.length > 1) throw new ConflictError(ambiguousPatMessage(idOrPrefix));
    if (rows.length === 1) return toPat(rows[0]!);
  }
  return null;
}
