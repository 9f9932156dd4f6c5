import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, type Directive, type DirectiveStore } from '../ports.js';
import { isVersion } from '../relational.js';
import { DIRECTIVE_COLS as COLS, toDirective, type DirectiveRow as Row } from '../sql/directives.js';
import type { PgDb } from './db.js';

export class PgDirectiveStore implements DirectiveStore {
  constructor(private readonly db: PgDb) {}

  async append(agent: string, text: string, opts?: { ifVersion?: number }): Promise<Directive> {
    const sha256 = createHash('sha256').update(text).digest('hex');
    return this.db.tx(async (q) => {
      // Locking the agent row serializes appends per agent across every replica and CLI, so the
      // version read below is still the current one when we insert current + 1. NO KEY UPDATE
      // does not block the foreign-key checks of other tables pointing at the agent.
      const agentRow = await q.query('SELECT 1 FROM agents WHERE name = $1 FOR NO KEY UPDATE', [agent]);
      if (agentRow.rowCount === 0) throw new NotFoundError(`unknown agent: ${agent}`);
      const { rows } = await q.query<{ current: number }>(
        'SELECT COALESCE(MAX(version), 0) AS current FROM directives WHERE agent = $1',
        [agent],
      );
      const current = rows[0]!.current;
      if (opts?.ifVersion !== undefined && opts.ifVersion !== current) {
        throw new ConflictError(`directive of "${agent}" is at version ${current}, not ${opts.ifVersion}`);
      }
      const inserted = await q.query<Row>(
        `INSERT INTO directives (${COLS}) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLS}`,
        [agent, current + 1, text, sha256, Date.now()],
      );
      return toDirective(inserted.rows[0]!);
    });
  }

  async current(agent: string): Promise<Directive | null> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLS} FROM directives WHERE agent = $1 ORDER BY version DESC LIMIT 1`,
      [agent],
    );
    return rows[0] ? toDirective(rows[0]) : null;
  }

  async get(agent: string, version: number): Promise<Directive | null> {
    if (!isVersion(version)) return null; // 1.5 or 2^40 would be a type error in SQL, not "not found"
    const rows = await this.db.query<Row>(`SELECT ${COLS} FROM directives WHERE agent = $1 AND version = $2`, [
      agent,
      version,
    ]);
    return rows[0] ? toDirective(rows[0]) : null;
  }

  /** Newest version first. */
  async history(agent: string): Promise<Directive[]> {
    const rows = await this.db.query<Row>(`SELECT ${COLS} FROM directives WHERE agent = $1 ORDER BY version DESC`, [agent]);
    return rows.map(toDirective);
  }

  async currentVersions(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ agent: string; version: number }>(
      'SELECT agent, MAX(version) AS version FROM directives GROUP BY agent',
    );
    return new Map(rows.map((r) => [r.agent, r.version]));
  }
}
