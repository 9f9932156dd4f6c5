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
import type { SqliteDb } from './db.js';

const UPSERT_DEPLOY = `INSERT INTO directive_deploys (${DEPLOY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (agent) DO UPDATE SET stable_version = excluded.stable_version, canary_version = excluded.canary_version,
    canary_percent = excluded.canary_percent, rollout = excluded.rollout, floor_version = excluded.floor_version,
    prompt_cache = excluded.prompt_cache, revision = excluded.revision, updated_at = excluded.updated_at`;

export class SqliteDirectiveStore implements DirectiveStore {
  private readonly deployTx;
  private readonly changeTx;

  constructor(private readonly db: SqliteDb) {
    // The next version is read and written under the write lock (BEGIN IMMEDIATE), so concurrent
    // appends from any number of processes each get their own version, one after the other; the
    // deploy state changes in the same transaction, so no replica ever sees one without the other.
    this.deployTx = db.writer((agent: string, text: string, opts: DeployOptions): Directive => {
      this.requireAgent(agent);
      const current = this.latest(agent);
      if (opts.ifVersion !== undefined && opts.ifVersion !== current) {
        throw new ConflictError(`directive of "${agent}" is at version ${current}, not ${opts.ifVersion}`);
      }
      if (opts.canary !== undefined && current === 0) throw new ConflictError(NOTHING_TO_CANARY(agent));
      const d = this.insertVersion(agent, current + 1, text);
      this.writeDeploy(agent, current, { kind: 'version', version: d.version, canary: opts.canary, rollout: opts.rollout });
      return d;
    });
    this.changeTx = db.writer((agent: string, change: 'promote' | 'abort' | boolean, rollout?: DirectiveRollout): Directive | null => {
      this.requireAgent(agent);
      const row = this.row(agent);
      const current = this.latest(agent);
      if (typeof change === 'boolean') {
        this.writeDeploy(agent, current, { kind: 'prompt-cache', on: change }, row);
        return null;
      }
      if (!row || row.canary_version === null) throw new ConflictError(NO_CANARY(agent));
      if (change === 'promote') {
        this.writeDeploy(agent, current, { kind: 'promote', rollout }, row);
        return null;
      }
      const stable = this.db.get<Row>(`SELECT ${COLS} FROM directives WHERE agent = ? AND version = ?`, agent, row.stable_version)!;
      const d = this.insertVersion(agent, current + 1, stable.text);
      this.writeDeploy(agent, current, { kind: 'abort', version: d.version, rollout }, row);
      return d;
    });
  }

  private requireAgent(agent: string): void {
    if (!this.db.get('SELECT 1 FROM agents WHERE name = ?', agent)) throw new NotFoundError(`unknown agent: ${agent}`);
  }

  private latest(agent: string): number {
    return this.db.get<{ current: number }>('SELECT COALESCE(MAX(version), 0) AS current FROM directives WHERE agent = ?', agent)!
      .current;
  }

  private row(agent: string): DeployRow | null {
    return this.db.get<DeployRow>(`SELECT ${DEPLOY_COLS} FROM directive_deploys WHERE agent = ?`, agent) ?? null;
  }

  private insertVersion(agent: string, version: number, text: string): Directive {
    const row: Row = { agent, version, text, sha256: createHash('sha256').update(text).digest('hex'), created_at: Date.now() };
    this.db.run(`INSERT INTO directives (${COLS}) VALUES (?, ?, ?, ?, ?)`, row.agent, row.version, row.text, row.sha256, row.created_at);
    return toDirective(row);
  }

  private writeDeploy(agent: string, latestBefore: number, change: DeployChange, prev = this.row(agent)): void {
    const n = nextDeploy(agent, prev, latestBefore, change, Date.now());
    this.db.run(
      UPSERT_DEPLOY,
      n.agent,
      n.stable_version,
      n.canary_version,
      n.canary_percent,
      n.rollout,
      n.floor_version,
      n.prompt_cache === true || n.prompt_cache === 1 ? 1 : 0,
      n.revision,
      n.updated_at,
    );
  }

  async append(agent: string, text: string, opts?: { ifVersion?: number }): Promise<Directive> {
    return this.deployTx(agent, text, { ifVersion: opts?.ifVersion });
  }

  async deploy(agent: string, text: string, opts: DeployOptions = {}): Promise<Directive> {
    return this.deployTx(agent, text, opts);
  }

  async deployState(agent: string): Promise<DirectiveDeploy | null> {
    const r = this.db.get<DeployRow & { latest: number }>(`${DEPLOY_SELECT} WHERE d.agent = ?`, agent);
    return r ? toDeploy(r) : null;
  }

  async deployStates(): Promise<Map<string, DirectiveDeploy>> {
    const rows = this.db.all<DeployRow & { latest: number }>(DEPLOY_SELECT);
    return new Map(rows.map((r) => [r.agent, toDeploy(r)]));
  }

  async promote(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<DirectiveDeploy> {
    this.changeTx(agent, 'promote', opts?.rollout);
    return (await this.deployState(agent))!;
  }

  async abort(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<Directive> {
    return this.changeTx(agent, 'abort', opts?.rollout)!;
  }

  async setPromptCache(agent: string, on: boolean): Promise<DirectiveDeploy> {
    this.changeTx(agent, on);
    return (await this.deployState(agent))!;
  }

  async sessionVersion(sessionId: string): Promise<number | null> {
    return this.db.get<{ v: number | null }>('SELECT directive_version AS v FROM sessions WHERE id = ?', sessionId)?.v ?? null;
  }

  async checkpointTotals(agent: string): Promise<VersionCheckpointTotals[]> {
    return this.db.all<VersionCheckpointTotals>(CHECKPOINT_TOTALS_SQLITE, agent);
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

const CHECKPOINT_TOTALS_SQLITE = `SELECT directive_version AS version, COUNT(*) AS checkpoints,
    COUNT(DISTINCT session_id) AS sessions, COALESCE(SUM(prompt_tokens), 0) AS promptTokens,
    COALESCE(SUM(cached_tokens), 0) AS cachedTokens, SUM(CASE WHEN cached_tokens > 0 THEN 1 ELSE 0 END) AS cacheHits
  FROM checkpoints WHERE agent = ? AND directive_version IS NOT NULL
  GROUP BY directive_version ORDER BY directive_version`;
