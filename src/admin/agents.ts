// /admin/v1/agents: list, create, read, change (disable/enable, rpm, description, limits and budgets,
// content mode, prompt caching: what `ibex agent update` changes).
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../errors.js';
import { createAgent, setAgentEnabled, updateAgent } from '../ops/identity.js';
import { setPromptCache } from '../ops/directives.js';
import type { Agent, AgentPatch, ContentMode } from '../stores/ports.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { decodeCursor, slicePage } from './pagination.js';
import { Agent as AgentSchema, AgentParams, AgentPatchBody, errors, ListQuery, NewAgentBody, pageOf, writeErrors } from './schemas.js';
import { agentView } from './views.js';

/** The body of PATCH /agents/:name (AgentPatchBody): what `ibex agent update` and enable/disable change. */
type AgentPatchRequest = AgentPatch & { disabled?: boolean; contentMode?: ContentMode; promptCache?: boolean };

export function notFound(message: string, param: string | null = null): IbexError {
  return new IbexError('IBEX_ERR_NOT_FOUND', { message, param });
}

export const noSuchAgent = (name: string, param: string | null = null) => notFound(`No agent named "${name}".`, param);

export function registerAgentRoutes(app: FastifyInstance, deps: AdminApiDeps): void {
  const { stores } = deps;
  const view = async (a: Agent) => agentView(a, (await stores.directives.current(a.name))?.version ?? null);

  app.get(
    `${ADMIN_PREFIX}/agents`,
    {
      schema: {
        tags: ['agents'],
        summary: 'List agents, newest first',
        querystring: ListQuery,
        response: { 200: pageOf(AgentSchema), ...errors(400) },
      },
    },
    async (request) => {
      const q = request.query as { limit: number; cursor?: string };
      const [agents, versions] = await Promise.all([stores.agents.list(), stores.directives.currentVersions()]);
      const page = slicePage(agents, q.limit, 'agents', decodeCursor(q.cursor, 'agents', false), (a) => a.name);
      return { data: page.data.map((a) => agentView(a, versions.get(a.name) ?? null)), next_cursor: page.next_cursor };
    },
  );

  app.post(
    `${ADMIN_PREFIX}/agents`,
    {
      schema: {
        tags: ['agents'],
        summary: 'Create an agent',
        body: NewAgentBody,
        response: { 201: AgentSchema, ...writeErrors(409) },
      },
    },
    async (request, reply) => {
      const b = request.body as { name: string; description?: string | null; rpm?: number | null };
      const a = await createAgent(stores, { name: b.name, description: b.description ?? null, rpm: b.rpm ?? null });
      return reply.code(201).send(agentView(a, null));
    },
  );

  app.get(
    `${ADMIN_PREFIX}/agents/:name`,
    {
      schema: { tags: ['agents'], summary: 'One agent', params: AgentParams, response: { 200: AgentSchema, ...errors(404) } },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const a = await stores.agents.get(name);
      if (!a) throw noSuchAgent(name);
      return view(a);
    },
  );

  app.patch(
    `${ADMIN_PREFIX}/agents/:name`,
    {
      schema: {
        tags: ['agents'],
        summary: 'Change an agent: disable/enable (rejected everywhere within seconds), rpm, description, limits and budgets, content mode, prompt caching',
        params: AgentParams,
        body: AgentPatchBody,
        response: { 200: AgentSchema, ...writeErrors(404) },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { disabled, contentMode, promptCache, ...fields } = request.body as AgentPatchRequest;
      let a = await stores.agents.get(name);
      if (!a) throw noSuchAgent(name);
      // Through src/ops, as the CLI does: running gateways drop their cached copy of the agent.
      if (Object.keys(fields).length > 0) a = (await updateAgent(stores, name, fields)) ?? a;
      if (contentMode !== undefined) a = (await stores.agents.setContentMode(name, contentMode)) ?? a;
      if (promptCache !== undefined) await setPromptCache(stores, name, promptCache);
      if (disabled !== undefined) a = (await setAgentEnabled(stores, name, !disabled)) ?? a;
      return view(a);
    },
  );
}
