import { ConflictError, type Agent, type AgentStore, type ContentMode, type NewAgent } from '../ports.js';
import { AGENT_COLS as COLS, AGENT_READ_COLS as READ_COLS, toAgent as toAgentWith, type AgentRow } from '../sql/agents.js';
import { bool, sqliteCode, sqliteDecode, type SqliteDb } from './db.js';
import { insertRevocation } from './revocations.js';

type Row = AgentRow<number>;

const toAgent = (r: Row): Agent => toAgentWith(r, sqliteDecode);

export class SqliteAgentStore implements AgentStore {
  private readonly insertTx;
  private readonly setEnabledTx;

  constructor(private readonly db: SqliteDb) {
    this.insertTx = db.writer((r: Row) =>
      db.run(`INSERT INTO agents (${COLS}) VALUES (?, ?, ?, ?, ?)`, r.name, r.description, r.rpm, r.enabled, r.created_at),
    );
    this.setEnabledTx = db.writer((name: string, enabled: boolean): Agent | null => {
      const row = this.row(name);
      if (!row) return null;
      if (bool(row.enabled) === enabled) return toAgent(row);
      db.run('UPDATE agents SET enabled = ? WHERE name = ?', enabled ? 1 : 0, name);
      // Same transaction as the flag: a replica that sees the event also sees the agent disabled.
      if (!enabled) insertRevocation(db, { kind: 'agent', subject: name }, Date.now());
      return toAgent({ ...row, enabled: enabled ? 1 : 0 });
    });
  }

  private row(name: string): Row | undefined {
    return this.db.get<Row>(`SELECT ${READ_COLS} FROM agents WHERE name = ?`, name);
  }

  async create(agent: NewAgent): Promise<Agent> {
    const row: Row = {
      name: agent.name,
      description: agent.description ?? null,
      rpm: agent.rpm ?? null,
      enabled: 1,
      created_at: Date.now(),
    };
    try {
      this.insertTx(row);
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`agent "${agent.name}" already exists`);
      throw err;
    }
    return toAgent(row);
  }

  async get(name: string): Promise<Agent | null> {
    const row = this.row(name);
    return row ? toAgent(row) : null;
  }

  /** Most recently created first. */
  async list(): Promise<Agent[]> {
    return this.db.all<Row>(`SELECT ${READ_COLS} FROM agents ORDER BY created_at DESC, name`).map(toAgent);
  }

  async setEnabled(name: string, enabled: boolean): Promise<Agent | null> {
    return this.setEnabledTx(name, enabled);
  }

  async setContentMode(name: string, mode: ContentMode): Promise<Agent | null> {
    const changed = this.db.writer(() => this.db.run('UPDATE agents SET content_mode = ? WHERE name = ?', mode, name).changes)();
    return changed ? this.get(name) : null;
  }
}
