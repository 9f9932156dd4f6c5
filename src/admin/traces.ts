// /admin/v1/traces: pages of traces, most recent first, from whichever trace store is configured,
// filtered by agent, session, request id (the caller's or ibex's) and status.
import type { FastifyInstance } from 'fastify';
import type { Trace, TraceFilter } from '../stores/ports.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { decodeCursor, keysetPage } from './pagination.js';
import { errors, pageOf, Trace as TraceSchema, TracesQuery } from './schemas.js';
import { traceView } from './views.js';

interface TracesQueryValues {
  agent?: string;
  session?: string;
  requestId?: string;
  status?: string;
  limit: number;
  cursor?: string;
}

/** `?status=` as the store's filter: `ok`, `error` or an HTTP status. */
export function statusFilter(status: string | undefined): TraceFilter['status'] {
  if (status === undefined) return undefined;
  return status === 'ok' || status === 'error' ? status : Number(status);
}

export function registerTraceRoutes(app: FastifyInstance, deps: AdminApiDeps): void {
  app.get(
    `${ADMIN_PREFIX}/traces`,
    {
      schema: {
        tags: ['traces'],
        summary: 'List traces, most recent first',
        querystring: TracesQuery,
        response: { 200: pageOf(TraceSchema), ...errors(400) },
      },
    },
    async (request) => {
      const q = request.query as TracesQueryValues;
      const cursor = decodeCursor(q.cursor, 'traces', true);
      const filter: TraceFilter = {
        agent: q.agent,
        sessionId: q.session,
        requestId: q.requestId,
        status: statusFilter(q.status),
        before: cursor ? { startedAt: cursor.at!, requestId: cursor.id } : undefined,
      };
      const page = await keysetPage(
        q.limit,
        (limit) => deps.stores.traces.list({ ...filter, limit }),
        (t: Trace) => ({ k: 'traces', at: t.startedAt, id: t.requestId }),
      );
      return { data: page.data.map(traceView), next_cursor: page.next_cursor };
    },
  );
}
