import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, type Directive, type DirectiveStore } from '../ports.js';
import { isVersion } from '../relational.js';
import { DIRECTIVE_COLS as COLS, toDirective, type DirectiveRow as Row } from '../sql/directives.js';
import type { SqliteDb } from './db.js';

export class SqliteDirectiveStore implements DirectiveStore {
  private readonly appendTx;

  constructor(private readonly db: SqliteDb) {
    // The next version is read and written under the write lock (BEGIN IMMEDIATE), so concurrent
    // appends from any number of processes each get their own version, one after the other.
    this.appendTx = db.writer((agent: string, text: string, ifVersion: number | undefined): Directive => {
      if (!db.get('SELECT 1 FROM agents WHERE name = ?', agent)) throw new NotFoundError(`unknown agent: ${agent}`);
      const { current } = db.get<{ current: number }>(
        'SELECT COALESCE(MAX(version), 0) AS current FROM directives WHERE agent = ?',
        agent,
      )!;
      if (ifVersion !== undefined && ifVersion !== current) {
        throw new ConflictError(`directive of "${agent}" is at version ${current}, not ${ifVersion}`);
      }
      const row: Row = {
        agent,
        version: current + 1,
        text,
        sha256: createHash('sha256').update(text).digest('hex'),
        created_at: Date.now(),
      };
      db.run(`INSERT INTO directives (${COLS}) VALUES (?, ?, ?, ?, ?)`, row.agent, row.version, row.text, row.sha256, row.created_at);
      return toDirective(row);
    });
  }

  async append(agent: string, text: string, opts?: { ifVersion?: number }): Promise<Directive> {
    return this.appendTx(agent, text, opts?.ifVersion);
  }

  async current(agent: string): Promise<Directive | null> {
    const row = this.db.get<Row>(`SELECT ${COLS} FROM directives WHERE agent = ? ORDER BY version DESC LIMIT 1`, agent);
    return row ? toDirective(row) : null;
  }

  async get(agent: string, version: number): Promise<Directive | null> {
    if (!isVersion(version)) return null;
    const row = this.db.get<Row>(`SELECT ${COLS} FROM directives WHERE agent = ? AND version = ?`, agent, version);
    return row ? toDirective(row) : null;
  }

  /** Newest version first. */
  async history(agent: string): Promise<Directive[]> {
    return this.db.all<Row>(`SELECT ${COLS} FROM directives WHERE agent = ? ORDER BY version DESC`, agent).map(toDirective);
  }

  async currentVersions(): Promise<Map<string, number>> {
    const rows = this.db.all<{ agent: string; version: number }>(
      'SELECT agent, MAX(version) AS version FROM directives GROUP BY agent',
    );
    return new Map(rows.map((r) => [r.agent, r.version]));
  }
}
