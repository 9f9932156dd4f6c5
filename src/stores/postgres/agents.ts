import { ConflictError, type Agent, type AgentStore, type ContentMode, type NewAgent } from '../ports.js';
import { AGENT_COLS as COLS, AGENT_READ_COLS as READ_COLS, toAgent as toAgentWith, type AgentRow } from '../sql/agents.js';
import { pgCode, pgDecode, UNIQUE_VIOLATION, type PgDb } from './db.js';
import { insertRevocation } from './revocations.js';

type Row = AgentRow<boolean>;

const toAgent = (r: Row): Agent => toAgentWith(r, pgDecode);

export class PgAgentStore implements AgentStore {
  constructor(private readonly db: PgDb) {}

  async create(agent: NewAgent): Promise<Agent> {
    try {
      const rows = await this.db.query<Row>(
        `INSERT INTO agents (${COLS}) VALUES ($1, $2, $3, TRUE, $4) RETURNING ${READ_COLS}`,
        [agent.name, agent.description ?? null, agent.rpm ?? null, Date.now()],
      );
      return toAgent(rows[0]!);
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new ConflictError(`agent "${agent.name}" already exists`);
      throw err;
    }
  }

  async get(name: string): Promise<Agent | null> {
    const rows = await this.db.query<Row>(`SELECT ${READ_COLS} FROM agents WHERE name = $1`, [name]);
    return rows[0] ? toAgent(rows[0]) : null;
  }

  /** Most recently created first. */
  async list(): Promise<Agent[]> {
    return (await this.db.query<Row>(`SELECT ${READ_COLS} FROM agents ORDER BY created_at DESC, name`)).map(toAgent);
  }

  async setContentMode(name: string, mode: ContentMode): Promise<Agent | null> {
    const rows = await this.db.query<Row>(`UPDATE agents SET content_mode = $2 WHERE name = $1 RETURNING ${READ_COLS}`, [name, mode]);
    return rows[0] ? toAgent(rows[0]) : null;
  }

  async setEnabled(name: string, enabled: boolean): Promise<Agent | null> {
    return this.db.tx(async (q) => {
      const { rows } = await q.query<Row>(`SELECT ${READ_COLS} FROM agents WHERE name = $1 FOR NO KEY UPDATE`, [name]);
      const row = rows[0];
      if (!row) return null;
      if (row.enabled === enabled) return toAgent(row);
      await q.query('UPDATE agents SET enabled = $1 WHERE name = $2', [enabled, name]);
      // Same transaction as the flag: a replica that sees the event also sees the agent disabled.
      if (!enabled) await insertRevocation(q, { kind: 'agent', subject: name }, Date.now());
      return toAgent({ ...row, enabled });
    });
  }
}
