// /admin/v1/sessions: pages newest created first (a session keeps its place when it gets new turns,
// so walking the pages during traffic neither repeats nor skips), one session with its checkpoints,
// and every checkpoint oldest first (the ledger export behind `ibex sessions export --url`).
import type { FastifyInstance } from 'fastify';
import type { Checkpoint, Session } from '../stores/ports.js';
import { noSuchAgent, notFound } from './agents.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { decodeCursor, keysetPage } from './pagination.js';
import { Checkpoint as CheckpointSchema, CheckpointsQuery, errors, pageOf, Session as SessionSchema, SessionDetail, SessionParams, SessionsQuery } from './schemas.js';
import { checkpointView, sessionView } from './views.js';
import { findSession } from '../sessions/find.js';

export function registerSessionRoutes(app: FastifyInstance, deps: AdminApiDeps): void {
  const { stores } = deps;

  app.get(
    `${ADMIN_PREFIX}/sessions`,
    {
      schema: {
        tags: ['sessions'],
        summary: 'List sessions, newest created first',
        querystring: SessionsQuery,
        response: { 200: pageOf(SessionSchema), ...errors(400, 404) },
      },
    },
    async (request) => {
      const q = request.query as { agent?: string; limit: number; cursor?: string };
      const cursor = decodeCursor(q.cursor, 'sessions', true);
      if (q.agent !== undefined && !(await stores.agents.get(q.agent))) throw noSuchAgent(q.agent, 'agent');
      const before = cursor ? { createdAt: cursor.at!, id: cursor.id } : undefined;
      const page = await keysetPage(
        q.limit,
        (limit) => stores.sessions.pageSessions({ agent: q.agent, limit, before }),
        (s: Session) => ({ k: 'sessions', at: s.createdAt, id: s.id }),
      );
      return { data: page.data.map(sessionView), next_cursor: page.next_cursor };
    },
  );

  app.get(
    `${ADMIN_PREFIX}/sessions/:id`,
    {
      schema: {
        tags: ['sessions'],
        summary: 'One session and its checkpoints, in conversation order',
        description: '`id`: a session id, or a Responses reply id (`resp_…`) or conversation id that one of its turns created or continued.',
        params: SessionParams,
        response: { 200: SessionDetail, ...errors(404) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const session = await findSession(stores.sessions, id);
      if (!session) throw notFound(`No session "${id}" (nor a turn that created or continued a response or conversation of that id).`, 'id');
      const checkpoints = await stores.sessions.checkpoints(session.id);
      return { ...sessionView(session), checkpoints: checkpoints.map(checkpointView) };
    },
  );

  app.get(
    `${ADMIN_PREFIX}/checkpoints`,
    {
      schema: {
        tags: ['sessions'],
        summary: 'Every checkpoint, oldest first (created, then request id): the ledger export',
        querystring: CheckpointsQuery,
        response: { 200: pageOf(CheckpointSchema), ...errors(400, 404) },
      },
    },
    async (request) => {
      const q = request.query as { agent?: string; since?: string; limit: number; cursor?: string };
      const cursor = decodeCursor(q.cursor, 'checkpoints', true);
      if (q.agent !== undefined && !(await stores.agents.get(q.agent))) throw noSuchAgent(q.agent, 'agent');
      const since = q.since === undefined ? undefined : Date.parse(q.since);
      const after = cursor ? { createdAt: cursor.at!, requestId: cursor.id } : undefined;
      const page = await keysetPage(
        q.limit,
        async (limit) => {
          const rows: Checkpoint[] = [];
          for await (const cp of stores.sessions.exportCheckpoints({ agent: q.agent, since, after, pageSize: limit })) {
            rows.push(cp);
            if (rows.length === limit) break;
          }
          return rows;
        },
        (c: Checkpoint) => ({ k: 'checkpoints', at: c.createdAt, id: c.requestId }),
      );
      return { data: page.data.map(checkpointView), next_cursor: page.next_cursor };
    },
  );
}
