import { createHash } from 'node:crypto';
import {
  ConflictError,
  NotFoundError,
  type DeployOptions,
  type Directive,
  type DirectiveDeploy,
  type DirectiveRollout,
  type DirectiveStore,
  type VersionCheckpointTotals,
} from '../ports.js';
import { isVersion } from '../relational.js';
import {
  DEPLOY_COLS,
  DEPLOY_SELECT,
  DIRECTIVE_COLS as COLS,
  nextDeploy,
  NO_CANARY,
  NOTHING_TO_CANARY,
  toDeploy,
  toDirective,
  type DeployChange,
  type DeployRow,
  type DirectiveRow as Row,
} from '../sql/directives.js';
import type { PgDb, Queryable } from './db.js';

const UPSERT_DEPLOY = `INSERT INTO directive_deploys (${DEPLOY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (agent) DO UPDATE SET stable_version = excluded.stable_version, canary_version = excluded.canary_version,
    canary_percent = excluded.canary_percent, rollout = excluded.rollout, floor_version = excluded.floor_version,
    prompt_cache = excluded.prompt_cache, revision = excluded.revision, updated_at = excluded.updated_at`;

type Locked = { current: number; row: DeployRow | null };

export class PgDirectiveStore implements DirectiveStore {
  constructor(private readonly db: PgDb) {}

  /**
   * Locks the agent row, which serializes every directive write of the agent across every replica
   * and CLI, then reads the latest version and the deploy row, which stay current until commit.
   * NO KEY UPDATE does not block the foreign-key checks of other tables pointing at the agent.
   */
  private async lock(q: Queryable, agent: string): Promise<Locked> {
    const agentRow = await q.query('SELECT 1 FROM agents WHERE name = $1 FOR NO KEY UPDATE', [agent]);
    if (agentRow.rowCount === 0) throw new NotFoundError(`unknown agent: ${agent}`);
    const { rows } = await q.query<{ current: number }>('SELECT COALESCE(MAX(version), 0) AS current FROM directives WHERE agent = $1', [
      agent,
    ]);
    const deploy = await q.query<DeployRow>(`SELECT ${DEPLOY_COLS} FROM directive_deploys WHERE agent = $1`, [agent]);
    return { current: rows[0]!.current, row: deploy.rows[0] ?? null };
  }

  private async insertVersion(q: Queryable, agent: string, version: number, text: string): Promise<Directive> {
    const sha256 = createHash('sha256').update(text).digest('hex');
    const inserted = await q.query<Row>(`INSERT INTO directives (${COLS}) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLS}`, [
      agent,
      version,
      text,
      sha256,
      Date.now(),
    ]);
    return toDirective(inserted.rows[0]!);
  }

  private async writeDeploy(q: Queryable, agent: string, locked: Locked, change: DeployChange): Promise<void> {
    const n = nextDeploy(agent, locked.row, locked.current, change, Date.now());
    await q.query(UPSERT_DEPLOY, [
      n.agent,
      n.stable_version,
      n.canary_version,
      n.canary_percent,
      n.rollout,
      n.floor_version,
      n.prompt_cache === true || n.prompt_cache === 1,
      n.revision,
      n.updated_at,
    ]);
  }

  async append(agent: string, text: string, opts?: { ifVersion?: number }): Promise<Directive> {
    return this.deploy(agent, text, { ifVersion: opts?.ifVersion });
  }

  async deploy(agent: string, text: string, opts: DeployOptions = {}): Promise<Directive> {
    return this.db.tx(async (q) => {
      const locked = await this.lock(q, agent);
      if (opts.ifVersion !== undefined && opts.ifVersion !== locked.current) {
        throw new ConflictError(`directive of "${agent}" is at version ${locked.current}, not ${opts.ifVersion}`);
      }
      if (opts.canary !== undefined && locked.current === 0) throw new ConflictError(NOTHING_TO_CANARY(agent));
      const d = await this.insertVersion(q, agent, locked.current + 1, text);
      await this.writeDeploy(q, agent, locked, { kind: 'version', version: d.version, canary: opts.canary, rollout: opts.rollout });
      return d;
    });
  }

  async deployState(agent: string): Promise<DirectiveDeploy | null> {
    const rows = await this.db.query<DeployRow & { latest: number }>(`${DEPLOY_SELECT} WHERE d.agent = $1`, [agent]);
    return rows[0] ? toDeploy(rows[0]) : null;
  }

  async deployStates(): Promise<Map<string, DirectiveDeploy>> {
    const rows = await this.db.query<DeployRow & { latest: number }>(DEPLOY_SELECT);
    return new Map(rows.map((r) => [r.agent, toDeploy(r)]));
  }

  async promote(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<DirectiveDeploy> {
    await this.db.tx(async (q) => {
      const locked = await this.lock(q, agent);
      if (!locked.row || locked.row.canary_version === null) throw new ConflictError(NO_CANARY(agent));
      await this.writeDeploy(q, agent, locked, { kind: 'promote', rollout: opts?.rollout });
    });
    return (await this.deployState(agent))!;
  }

  async abort(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<Directive> {
    return this.db.tx(async (q) => {
      const locked = await this.lock(q, agent);
      if (!locked.row || locked.row.canary_version === null) throw new ConflictError(NO_CANARY(agent));
      const { rows } = await q.query<{ text: string }>('SELECT text FROM directives WHERE agent = $1 AND version = $2', [
        agent,
        locked.row.stable_version,
      ]);
      const d = await this.insertVersion(q, agent, locked.current + 1, rows[0]!.text);
      await this.writeDeploy(q, agent, locked, { kind: 'abort', version: d.version, rollout: opts?.rollout });
      return d;
    });
  }

  async setPromptCache(agent: string, on: boolean): Promise<DirectiveDeploy> {
    await this.db.tx(async (q) => {
      const locked = await this.lock(q, agent);
      await this.writeDeploy(q, agent, locked, { kind: 'prompt-cache', on });
    });
    return (await this.deployState(agent))!;
  }

  async sessionVersion(sessionId: string): Promise<number | null> {
    const rows = await this.db.query<{ v: number | null }>('SELECT directive_version AS v FROM sessions WHERE id = $1', [sessionId]);
    return rows[0]?.v ?? null;
  }

  async checkpointTotals(agent: string): Promise<VersionCheckpointTotals[]> {
    const rows = await this.db.query<Record<keyof VersionCheckpointTotals, string | number>>(
      `SELECT directive_version AS version, COUNT(*) AS checkpoints, COUNT(DISTINCT session_id) AS sessions,
         COALESCE(SUM(prompt_tokens), 0) AS "promptTokens", COALESCE(SUM(cached_tokens), 0) AS "cachedTokens",
         COUNT(*) FILTER (WHERE cached_tokens > 0) AS "cacheHits"
       FROM checkpoints WHERE agent = $1 AND directive_version IS NOT NULL
       GROUP BY directive_version ORDER BY directive_version`,
      [agent],
    );
    // COUNT and SUM of BIGINT come back as text (int8 / numeric)
    return rows.map((r) => ({
      version: Number(r.version),
      checkpoints: Number(r.checkpoints),
      sessions: Number(r.sessions),
      promptTokens: Number(r.promptTokens),
      cachedTokens: Number(r.cachedTokens),
      cacheHits: Number(r.cacheHits),
    }));
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
