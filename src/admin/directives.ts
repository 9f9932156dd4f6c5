// /admin/v1/directives/{agent}: history, one version, set (with if-version), rollback, diff. Writes go
// through src/ops/directives.ts like the CLI's, so every gateway hears of a new version at once.
// Canary deploys: set with `canary`/`rollout`, then promote or abort; stats per version judge a canary.
import type { FastifyInstance } from 'fastify';
import { unifiedDiff } from '../directives/diff.js';
import { abortDirective, promoteDirective, rollbackDirective, setDirective } from '../ops/directives.js';
import { versionStats } from '../directives/stats.js';
import { ConflictError, NotFoundError, type Directive, type DirectiveDeploy, type DirectiveRollout } from '../stores/ports.js';
import { noSuchAgent, notFound } from './agents.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { AdminError } from './errors.js';
import {
  DeployEndBody,
  DiffQuery,
  Directive as DirectiveSchema,
  DirectiveDeploy as DirectiveDeploySchema,
  DirectiveStats,
  DirectiveStatsQuery,
  DirectiveDiff,
  DirectiveHistory,
  DirectiveParams,
  DirectiveVersionParams,
  errors,
  RollbackBody,
  SetDirectiveBody,
  writeErrors,
} from './schemas.js';
import { directiveView } from './views.js';

const noVersion = (agent: string, version: number, param: string) => notFound(`Agent "${agent}" has no directive version ${version}.`, param);

export function registerDirectiveRoutes(app: FastifyInstance, deps: AdminApiDeps): void {
  const { stores } = deps;

  /** Store errors of a write as API errors: a stale if-version is 409, an unknown agent 404. */
  const written = (agent: string) => (err: unknown): never => {
    if (err instanceof ConflictError) throw new AdminError('IBEX_ERR_CONFLICT', { message: err.message, param: 'ifVersion' });
    if (err instanceof NotFoundError) throw noSuchAgent(agent, 'agent');
    throw err;
  };
  const requireAgent = async (agent: string) => {
    if (!(await stores.agents.get(agent))) throw noSuchAgent(agent, 'agent');
  };

  app.get(
    `${ADMIN_PREFIX}/directives/:agent`,
    {
      schema: {
        tags: ['directives'],
        summary: "An agent's directive history, newest first",
        params: DirectiveParams,
        response: { 200: DirectiveHistory, ...errors(404) },
      },
    },
    async (request) => {
      const { agent } = request.params as { agent: string };
      await requireAgent(agent);
      const [history, deploy] = await Promise.all([stores.directives.history(agent), stores.directives.deployState(agent)]);
      return { agent, current: history[0]?.version ?? null, data: history.map(directiveView), ...(deploy ? { deploy: deployView(deploy) } : {}) };
    },
  );

  app.get(
    `${ADMIN_PREFIX}/directives/:agent/versions/:version`,
    {
      schema: {
        tags: ['directives'],
        summary: 'One directive version',
        params: DirectiveVersionParams,
        response: { 200: DirectiveSchema, ...errors(400, 404) },
      },
    },
    async (request) => {
      const { agent, version } = request.params as { agent: string; version: number };
      await requireAgent(agent);
      const d = await stores.directives.get(agent, version);
      if (!d) throw noVersion(agent, version, 'version');
      return directiveView(d);
    },
  );

  app.post(
    `${ADMIN_PREFIX}/directives/:agent`,
    {
      schema: {
        tags: ['directives'],
        summary: 'Set the directive: a new immutable version (409 conflict when ifVersion is not the current version)',
        params: DirectiveParams,
        body: SetDirectiveBody,
        response: { 201: DirectiveSchema, ...writeErrors(404, 409) },
      },
    },
    async (request, reply) => {
      const { agent } = request.params as { agent: string };
      const b = request.body as { text: string; ifVersion?: number; canary?: number; rollout?: DirectiveRollout };
      const deploy = { ...(b.canary === undefined ? {} : { canary: b.canary }), ...(b.rollout === undefined ? {} : { rollout: b.rollout }) };
      const d = await setDirective(stores, agent, b.text, b.ifVersion, deploy).catch(written(agent));
      return reply.code(201).send(directiveView(d));
    },
  );

  app.post(
    `${ADMIN_PREFIX}/directives/:agent/rollback`,
    {
      schema: {
        tags: ['directives'],
        summary: "Roll back: a new version with an older version's text",
        params: DirectiveParams,
        body: RollbackBody,
        response: { 201: DirectiveSchema, ...writeErrors(404) },
      },
    },
    async (request, reply) => {
      const { agent } = request.params as { agent: string };
      const { to } = request.body as { to: number };
      await requireAgent(agent);
      const d = await rollbackDirective(stores, agent, to).catch(written(agent));
      if (!d) throw noVersion(agent, to, 'to');
      return reply.code(201).send(directiveView(d));
    },
  );

  app.get(
    `${ADMIN_PREFIX}/directives/:agent/diff`,
    {
      schema: {
        tags: ['directives'],
        summary: 'Unified diff between two versions (default: the current one and the one before)',
        params: DirectiveParams,
        querystring: DiffQuery,
        response: { 200: DirectiveDiff, ...errors(400, 404) },
      },
    },
    async (request) => {
      const { agent } = request.params as { agent: string };
      const q = request.query as { from?: number; to?: number };
      await requireAgent(agent);
      const history = await stores.directives.history(agent);
      const byVersion = new Map<number, Directive>(history.map((d) => [d.version, d]));
      const current = history[0]?.version;
      if (current === undefined) throw notFound(`Agent "${agent}" has no directive.`, 'agent');
      const to = q.to ?? current;
      // Version 0 is "no directive yet": the first version's diff shows every line added.
      const from = q.from ?? to - 1;
      const textOf = (v: number, param: string) => {
        if (v === 0 && q.from === undefined) return '';
        const d = byVersion.get(v);
        if (!d) throw noVersion(agent, v, param);
        return d.text;
      };
      const diff = unifiedDiff(textOf(from, 'from'), textOf(to, 'to'), { from: `${agent} v${from}`, to: `${agent} v${to}` });
      return { agent, from, to, diff };
    },
  );

  /** Promote or abort: 409 conflict when no canary runs. */
  const endCanary = (op: 'promote' | 'abort') =>
    app.post(
      `${ADMIN_PREFIX}/directives/:agent/${op}`,
      {
        schema: {
          tags: ['directives'],
          summary: op === 'promote' ? "End the canary: its version serves every new session" : 'End the canary: the stable text serves again, as a new version',
          params: DirectiveParams,
          body: DeployEndBody,
          response: { 200: DirectiveDeploySchema, ...writeErrors(404, 409) },
        },
      },
      async (request) => {
        const { agent } = request.params as { agent: string };
        const rollout = (request.body as { rollout?: DirectiveRollout } | undefined)?.rollout;
        await requireAgent(agent);
        if (op === 'promote') await promoteDirective(stores, agent, rollout).catch(written(agent));
        else await abortDirective(stores, agent, rollout).catch(written(agent));
        return deployView((await stores.directives.deployState(agent))!);
      },
    );
  endCanary('promote');
  endCanary('abort');

  app.get(
    `${ADMIN_PREFIX}/directives/:agent/stats`,
    {
      schema: {
        tags: ['directives'],
        summary: 'Outcomes per directive version (requests, sessions, errors, latency, tokens, cost, prompt-cache hits): judge a canary',
        params: DirectiveParams,
        querystring: DirectiveStatsQuery,
        response: { 200: DirectiveStats, ...errors(400, 404) },
      },
    },
    async (request) => {
      const { agent } = request.params as { agent: string };
      const { limit } = request.query as { limit: number };
      await requireAgent(agent);
      const [deploy, traces, totals] = await Promise.all([
        stores.directives.deployState(agent),
        stores.traces.list({ agent, limit }),
        stores.directives.checkpointTotals(agent),
      ]);
      return { agent, traces: traces.length, canary: deploy?.canary ?? null, data: versionStats(traces, totals, deploy) };
    },
  );
}

function deployView(d: DirectiveDeploy) {
  return { stable: d.stable, latest: d.latest, canary: d.canary, rollout: d.rollout, promptCache: d.promptCache };
}
