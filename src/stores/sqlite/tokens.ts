import { ConflictError, NotFoundError, type NewPat, type PatRecord, type TokenStore } from '../ports.js';
import { ambiguousPatMessage } from '../relational.js';
import { createdPat, PAT_COLS, toPat as toPatWith, type PatRow } from '../sql/tokens.js';
import { limitAssignments } from '../sql/limits.js';
import { sqliteCode, sqliteDecode, type SqliteDb } from './db.js';
import { insertRevocation } from './revocations.js';

type Row = PatRow<string>; // agents: a JSON array, in the order given at creation

const SELECT = `SELECT ${PAT_COLS},
  (SELECT json_group_array(agent ORDER BY position) FROM pat_agents WHERE pat_id = p.id) AS agents
  FROM pats p`;

const toPat = (r: Row): PatRecord => toPatWith(r, sqliteDecode);

export class SqliteTokenStore implements TokenStore {
  private readonly createTx;
  private readonly revokeTx;

  constructor(private readonly db: SqliteDb) {
    this.createTx = db.writer((pat: NewPat, agents: string[], createdAt: number) => {
      const missing = agents.filter((a) => !db.get('SELECT 1 FROM agents WHERE name = ?', a));
      if (missing.length) throw new NotFoundError(`unknown agent${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
      // Creation order for createdSince: the write lock is held, so max+1 is commit order.
      const { next } = db.get<{ next: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM pats')!;
      db.run(
        `INSERT INTO pats (id, seq, prefix, hash, name, rpm, created_at, expires_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
        pat.id,
        next,
        pat.prefix,
        pat.hash,
        pat.name ?? null,
        pat.rpm ?? null,
        createdAt,
        pat.expiresAt ?? null,
      );
      agents.forEach((a, i) => db.run('INSERT INTO pat_agents (pat_id, agent, position) VALUES (?, ?, ?)', pat.id, a, i));
      const limits = limitAssignments(pat);
      if (limits.columns.length) {
        db.run(`UPDATE pats SET ${limits.columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, ...limits.values, pat.id);
      }
    });
    this.revokeTx = db.writer((idOrPrefix: string): PatRecord | null => {
      const pat = this.lookup(idOrPrefix);
      if (!pat || pat.revokedAt !== null) return pat; // unknown, or already revoked: nothing to append
      const at = Date.now();
      db.run('UPDATE pats SET revoked_at = ? WHERE id = ?', at, pat.id);
      insertRevocation(db, { kind: 'pat', subject: pat.hash, patId: pat.id }, at);
      return { ...pat, revokedAt: at };
    });
  }

  async create(pat: NewPat): Promise<PatRecord> {
    const agents = [...new Set(pat.agents)];
    const createdAt = Date.now();
    try {
      this.createTx(pat, agents, createdAt);
    } catch (err) {
      const code = sqliteCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`a token with this id or hash already exists`);
      }
      throw err;
    }
    return createdPat(pat, agents, createdAt);
  }

  async findByHash(hash: string): Promise<PatRecord | null> {
    const row = this.db.get<Row>(`${SELECT} WHERE p.hash = ?`, hash);
    return row ? toPat(row) : null;
  }

  async find(idOrPrefix: string): Promise<PatRecord | null> {
    return this.lookup(idOrPrefix);
  }

  /** id, then exact display prefix, then unique start of a display prefix. */
  private lookup(idOrPrefix: string): PatRecord | null {
    if (!idOrPrefix) return null;
    const byId = this.db.get<Row>(`${SELECT} WHERE p.id = ?`, idOrPrefix);
    if (byId) return toPat(byId);
    const candidates = [
      () => this.db.all<Row>(`${SELECT} WHERE p.prefix = ? LIMIT 2`, idOrPrefix),
      () => this.db.all<Row>(`${SELECT} WHERE substr(p.prefix, 1, length(?)) = ? LIMIT 2`, idOrPrefix, idOrPrefix),
    ];
    for (const query of candidates) {
      const rows = query();
      if (rows.length > 1) throw new ConflictError(ambiguousPatMessage(idOrPrefix));
      if (rows.length === 1) return toPat(rows[0]!);
    }
    return null;
  }

  /** Most recently created first. */
  async list(filter?: { agent?: string }): Promise<PatRecord[]> {
    const rows = filter?.agent
      ? this.db.all<Row>(
          `${SELECT} WHERE p.id IN (SELECT pat_id FROM pat_agents WHERE agent = ?) ORDER BY p.seq DESC`,
          filter.agent,
        )
      : this.db.all<Row>(`${SELECT} ORDER BY p.seq DESC`);
    return rows.map(toPat);
  }

  async revoke(idOrPrefix: string): Promise<PatRecord | null> {
    return this.revokeTx(idOrPrefix);
  }

  /** Not revoked and not expired: the only hashes a request could still authenticate with. */
  async allHashes(): Promise<string[]> {
    return this.db
      .all<{ hash: string }>('SELECT hash FROM pats WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)', Date.now())
      .map((r) => r.hash);
  }

  async createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }> {
    const rows = this.db.all<{ seq: number; hash: string }>('SELECT seq, hash FROM pats WHERE seq > ? ORDER BY seq', cursor);
    return { hashes: rows.map((r) => r.hash), cursor: rows.length ? rows[rows.length - 1]!.seq : cursor };
  }
}
