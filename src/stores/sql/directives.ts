import type { Directive, DirectiveDeploy, DirectiveRollout } from '../ports.js';

export interface DirectiveRow {
  agent: string;
  version: number;
  text: string;
  sha256: string;
  created_at: number;
}

export const DIRECTIVE_COLS = 'agent, version, text, sha256, created_at';

export const toDirective = (r: DirectiveRow): Directive => ({
  agent: r.agent,
  version: r.version,
  text: r.text,
  sha256: r.sha256,
  createdAt: r.created_at,
});

// ---------- deploy state (issue 15) ----------
// The transitions are pure functions here so the SQLite and Postgres adapters cannot drift: each
// reads the row and the latest version under its lock, asks `nextDeploy`, and writes the result.

export interface DeployRow {
  agent: string;
  stable_version: number;
  canary_version: number | null;
  canary_percent: number | null;
  rollout: string;
  floor_version: number;
  prompt_cache: number | boolean;
  revision: number;
  updated_at: number;
}

export const DEPLOY_COLS =
  'agent, stable_version, canary_version, canary_percent, rollout, floor_version, prompt_cache, revision, updated_at';

/** The deploy columns of `directive_deploys d` plus the agent's latest version. */
export const DEPLOY_SELECT = `SELECT ${DEPLOY_COLS
  .split(', ')
  .map((c) => `d.${c}`)
  .join(', ')}, COALESCE((SELECT MAX(v.version) FROM directives v WHERE v.agent = d.agent), 0) AS latest
  FROM directive_deploys d`;

export const toDeploy = (r: DeployRow & { latest: number }): DirectiveDeploy => ({
  agent: r.agent,
  latest: Number(r.latest),
  // A row written before the agent's latest version (cannot happen after migration 0008, which fills
  // the rows in; kept so a hand-inserted version is still served): no canary → the latest serves.
  stable: r.canary_version === null ? Math.max(Number(r.latest), r.stable_version) : r.stable_version,
  canary: r.canary_version === null ? null : { version: r.canary_version, percent: r.canary_percent ?? 0 },
  rollout: r.rollout === 'all-sessions' ? 'all-sessions' : 'new-sessions',
  floor: r.floor_version,
  promptCache: r.prompt_cache === true || r.prompt_cache === 1,
  revision: Number(r.revision),
  updatedAt: Number(r.updated_at),
});

export type DeployChange =
  /** a new version was appended: served to all new sessions, or to `canary` % of them */
  | { kind: 'version'; version: number; canary?: number; rollout?: DirectiveRollout }
  | { kind: 'promote'; rollout?: DirectiveRollout }
  /** the canary was abandoned; `version` is the new copy of the stable text */
  | { kind: 'abort'; version: number; rollout?: DirectiveRollout }
  | { kind: 'prompt-cache'; on: boolean };

/** The row after `change`, from the row before (null: none yet) and the latest version before it. */
export function nextDeploy(agent: string, prev: DeployRow | null, latestBefore: number, change: DeployChange, now: number): DeployRow {
  const base: DeployRow = prev ?? {
    agent,
    stable_version: latestBefore,
    canary_version: null,
    canary_percent: null,
    rollout: 'new-sessions',
    floor_version: 0,
    prompt_cache: false,
    revision: 0,
    updated_at: now,
  };
  const next: DeployRow = { ...base, revision: Number(base.revision) + 1, updated_at: now };
  const serveAll = (version: number, rollout: DirectiveRollout) => {
    next.stable_version = version;
    next.canary_version = null;
    next.canary_percent = null;
    next.rollout = rollout;
    if (rollout === 'all-sessions') next.floor_version = version;
  };
  switch (change.kind) {
    case 'version':
      if (change.canary === undefined) {
        serveAll(change.version, change.rollout ?? 'new-sessions');
      } else {
        // A canary replacing a running one keeps the same stable version: the one before any canary.
        if (base.canary_version === null) next.stable_version = Math.max(latestBefore, base.stable_version);
        next.canary_version = change.version;
        next.canary_percent = change.canary;
        next.rollout = change.rollout ?? 'new-sessions';
      }
      break;
    case 'promote':
      serveAll(base.canary_version!, change.rollout ?? (base.rollout as DirectiveRollout));
      break;
    case 'abort':
      serveAll(change.version, change.rollout ?? (base.rollout as DirectiveRollout));
      break;
    case 'prompt-cache':
      next.prompt_cache = change.on;
      break;
  }
  return next;
}

export const NO_CANARY = (agent: string) => `agent "${agent}" has no canary running`;
export const NOTHING_TO_CANARY = (agent: string) =>
  `agent "${agent}" has no directive yet: a canary needs a version to compare with (set one without --canary first)`;
