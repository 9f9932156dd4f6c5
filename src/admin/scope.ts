// The admin API's fastify scope: every /admin/v1 route lives here, behind one token hook, with one
// error shape, JSON schemas on every route and the OpenAPI 3.1 document @fastify/swagger builds from
// them (GET /admin/v1/openapi.json). src/server/app.ts registers it as its own encapsulated plugin, so
// nothing here (hooks, error handler, serializer) touches the /v1 routes.
import swagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance } from 'fastify';
import { IbexError } from '../errors.js';
import { fastifyErrorToIbex } from '../server/error-handler.js';
import { ConflictError, NotFoundError } from '../stores/ports.js';
import { packageVersion } from '../util/package-root.js';
import { registerAgentRoutes } from './agents.js';
import { adminAuthHook } from './auth.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { registerDirectiveRoutes } from './directives.js';
import { AdminError } from './errors.js';
import { registerOverviewRoute } from './overview.js';
import { registerPatRoutes } from './pats.js';
import { OUTSIDE_ROUTE_SCHEMAS } from './schemas.js';
import { registerSessionRoutes } from './sessions.js';
import { registerPruneRoute } from './prune.js';
import { registerTraceRoutes } from './traces.js';

export const OPENAPI_PATH = `${ADMIN_PREFIX}/openapi.json`;

/** Where a validation error points: the property named in the request (`agents`, `limit`, …). */
function paramOf(err: FastifyError): string | null {
  const first = err.validation?.[0] as { instancePath?: string; params?: { missingProperty?: string; additionalProperty?: string } } | undefined;
  if (!first) return null;
  const named = first.params?.missingProperty ?? first.params?.additionalProperty;
  if (named) return named;
  const path = first.instancePath?.split('/').filter(Boolean)[0];
  return path ?? null;
}

/** Any error in the admin scope as `{"error":{message,type,code,param}}` with the status its code has. */
export function adminErrorBody(err: unknown, logError: AdminApiDeps['logError'], where: string): { status: number; body: object } {
  if (err instanceof IbexError || err instanceof AdminError) return { status: err.status, body: err.toBody() };
  if (err instanceof ConflictError) {
    const e = new AdminError('IBEX_ERR_CONFLICT', { message: err.message });
    return { status: e.status, body: e.toBody() };
  }
  if (err instanceof NotFoundError) {
    const e = new IbexError('IBEX_ERR_NOT_FOUND', { message: err.message });
    return { status: e.status, body: e.toBody() };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const e = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: fe.message, param: paramOf(fe) });
    return { status: e.status, body: e.toBody() };
  }
  const e = fastifyErrorToIbex(fe);
  if (e.status >= 500) logError(`admin API: unhandled error on ${where}`, err);
  return { status: e.status, body: e.toBody() };
}

export async function registerAdminApi(admin: FastifyInstance, deps: AdminApiDeps): Promise<void> {
  // Schemas for the admin routes registered outside src/admin (the events stream): attached before
  // @fastify/swagger records each route, so they are documented like the rest.
  admin.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      const schema = OUTSIDE_ROUTE_SCHEMAS[`${m} ${route.url}`];
      if (schema && !route.schema) route.schema = schema;
    }
  });

  await admin.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ibex admin API',
        version: packageVersion(),
        description:
          'Manage agents, PATs and directives, and read sessions, traces and traffic of an ibex gateway. ' +
          'Every route needs `Authorization: Bearer <admin token>`; the optional read-only token (IBEX_ADMIN_READ_TOKEN) may only GET. ' +
          'Lists answer `{data, next_cursor}`: pass `next_cursor` back as `cursor` for the next page. See docs/admin-api.md.',
      },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ adminToken: [] }],
      tags: ['agents', 'pats', 'directives', 'sessions', 'traces', 'overview', 'retention', 'events'].map((name) => ({ name })),
    },
  });

  // fastify's schema serializer silently drops any property a response schema does not name; the
  // admin API sends what its handlers build instead, and the e2e test holds answers to the schemas.
  admin.setSerializerCompiler(() => (data) => JSON.stringify(data));
  admin.setErrorHandler((err, request, reply) => {
    const { status, body } = adminErrorBody(err, deps.logError, `${request.method} ${request.url.split('?')[0]}`);
    void reply.code(status).send(body);
  });
  admin.addHook('onRequest', adminAuthHook(deps.tokens));
  // Admin answers are live state, often secret (a new PAT): never cached by a proxy or browser.
  admin.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  admin.get(OPENAPI_PATH, { schema: { hide: true } }, async () => admin.swagger());

  registerAgentRoutes(admin, deps);
  registerPatRoutes(admin, deps);
  registerDirectiveRoutes(admin, deps);
  registerSessionRoutes(admin, deps);
  registerTraceRoutes(admin, deps);
  registerOverviewRoute(admin, deps);
  registerPruneRoute(admin, deps);
}
