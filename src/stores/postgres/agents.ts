import { ConflictError, type Agent, type AgentPatch, type AgentStore, type ContentMode, type NewAgent } from '../ports.js';
import { AGENT_COLS, AGENT_READ_COLS as COLS, toAgent as toAgentWith, type AgentRow } from '../sql/agents.js';
import { limitAssignments } from '../sql/limits.js';
import { pgCode, pgDecode, UNIQUE_VIOLATION, type PgDb, type Queryable } from './db.js';
import { insertRevocation } from './revocations.js';

type Row = AgentRow<boolean>;

const toAgent = (r: Row): Agent => toAgentWith(r, pgDecode);

export class PgAgentStore implements AgentStore {
  constructor(private readonly db: PgDb) {}

  async create(agent: NewAgent): Promise<Agent> {
    try {
      return await this.db.tx(async (q) => {
        const { rows } = await q.query<Row>(`INSERT INTO agents (${AGENT_COLS}) VALUES ($1, $2, $3, TRUE, $4) RETURNING ${COLS}`, [
          agent.name,
          agent.description ?? null,
          agent.rpm ?? null,
          Date.now(),
        ]);
        return (await setLimits(q, agent.name, agent)) ?? toAgent(rows[0]!);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new ConflictError(`agent "${agent.name}" already exists`);
      throw err;
    }
  }

  async update(name: string, patch: AgentPatch): Promise<Agent | null> {
    return this.db.tx(async (q) => {
      const sets: string[] = [];
      const values: unknown[] = [name];
      if (patch.description !== undefined) {
        values.push(patch.description);
        sets.push(`description = $${values.length}`);
      }
      if (patch.rpm !== undefined) {
        values.push(patch.rpm);
        sets.push(`rpm = $${values.length}`);
      }
      const { rows } = await q.query<Row>(
        sets.length ? `UPDATE agents SET ${sets.join(', ')} WHERE name = $1 RETURNING ${COLS}` : `SELECT ${COLS} FROM agents WHERE name = $1`,
        values,
      );
      if (!rows[0]) return null;
      return (await setLimits(q, name, patch)) ?? toAgent(rows[0]);
    });
  }

  async get(name: string): Promise<Agent | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLS} FROM agents WHERE name = $1`, [name]);
    return rows[0] ? toAgent(rows[0]) : null;
  }

  /** Most recently created first. */
  async list(): Promise<Agent[]> {
    return (await this.db.query<Row>(`SELECT ${COLS} FROM agents ORDER BY created_at DESC, name`)).map(toAgent);
  }

  async setContentMode(name: string, mode: ContentMode): Promise<Agent | null> {
    const rows = await this.db.query<Row>(`UPDATE agents SET content_mode = $2 WHERE name = $1 RETURNING ${COLS}`, [name, mode]);
    return rows[0] ? toAgent(rows[0]) : null;
  }

  async setEnabled(name: string, enabled: boolean): Promise<Agent | null> {
    return this.db.tx(async (q) => {
      const { rows } = await q.query<Row>(`SELECT ${COLS} FROM agents WHERE name = $1 FOR NO KEY UPDATE`, [name]);
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

/** Sets the limits a patch names; the updated agent, or null when it names none. */
async function setLimits(q: Queryable, name: string, patch: AgentPatch): Promise<Agent | null> {
  const { columns, values } = limitAssignments(patch);
  if (!columns.length) return null;
  const { rows } = await q.query<Row>(
    `UPDATE agents SET ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE name = $1 RETURNING ${COLS}`,
    [name, ...values],
  );
  return rows[0] ? toAgent(rows[0]) : null;
}
