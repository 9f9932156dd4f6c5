// The fastify app: routes and error handlers, nothing else. What the routes need is passed in, so tests
// can build an app over any stores.
import Fastify, { type FastifyInstance } from 'fastify';
import { acceptRequestId } from '../pipeline/validate.js';
import { installErrorHandlers } from './error-handler.js';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOpenAIRoutes, type OpenAIRouteDeps } from './routes/openai.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { AdminTokens } from '../admin/auth.js';
import type { AdminApiDeps, AdminStores } from '../admin/deps.js';
import { registerAdminApi } from '../admin/scope.js';
import { authHook, decorateAuth, type AuthHookDeps } from './auth-hook.js';
import { installCors } from './cors.js';
import { installInflightBodyBound, type InflightBodies } from './inflight-bodies.js';
import { installRequestDecoding } from './request-encoding.js';
import type { Bus, ReadinessCheck, UsageQuery, UsageRow } from '../stores/ports.js';
import type { Metrics } from '../metrics.js';
import { uuidV7 } from '../util/time-ordered-id.js';

// The /v1 routes carry their wire protocol in the route config (routes/openai.ts, read back by
// route-protocol.ts). Declared because a plugin that adds its own config keys (@fastify/swagger, in the
// admin scope) turns on TypeScript's check of those keys.
declare module 'fastify' {
  interface FastifyContextConfig {
    protocol?: unknown;
  }
}

export interface AppDeps extends OpenAIRouteDeps {
  /** Checks the caller's PAT before any body is read (every /v1 route). */
  auth: AuthHookDeps;
  /** Origins allowed to call from a browser; empty → CORS off */
  corsOrigins: readonly string[];
  bodyLimit: number;
  /** Bound of the conversation request bodies held at once (inflight-bodies.ts); absent → none */
  inflightBodies?: InflightBodies;
  bus: Bus;
  adminToken: string;
  /** Usage totals from the trace store, for GET /admin/v1/usage */
  usage?: (q: UsageQuery) => Promise<UsageRow[]>;
  /** IBEX_ADMIN_READ_TOKEN: may call the admin API's GET routes only */
  adminReadToken?: string | null;
  /** The stores behind the admin API (/admin/v1/agents, pats, …); absent → only the events stream */
  adminStores?: AdminStores;
  /** Retention now, for POST /admin/v1/prune */
  prune?: AdminApiDeps['prune'];
  metrics: Metrics;
  ready(): Promise<ReadinessCheck[]>;
  isDraining(): boolean;
  logError(message: string, err: unknown): void;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit,
    // The request id that traces and checkpoints are stored under is always ours, so it is unique by
    // construction; a caller's X-Request-Id is only echoed (onRequest below).
    // Time-ordered (UUIDv7): traces and checkpoints are indexed by it (src/util/time-ordered-id.ts).
    genReqId: uuidV7,
    requestIdHeader: false,
    return503OnClosing: true,
    // Receiving a whole request may take at most this long (408 after): a client that trickles its body
    // cannot hold a connection forever. Only the request is timed, so long response streams are unaffected.
    requestTimeout: 60_000,
    forceCloseConnections: false,
    // Only the admin API has JSON schemas: an unknown body property is refused (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  });

  // fastify's text/plain parser would hand the raw string on; like OpenAI, any content type is JSON.
  app.removeContentTypeParser('text/plain');

  // curl -d sends form content type; OpenAI accepts JSON whatever the header says, so do we.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      const err = new SyntaxError('The request body is not valid JSON.');
      done(err as Error & { statusCode?: number }, undefined);
    }
  });

  app.addHook('onRequest', (req, reply, done) => {
    // X-Request-Id: echoed when the caller sent a sane one, else ours.
    reply.header('x-request-id', acceptRequestId(req.headers['x-request-id'] as string | undefined) ?? req.id);
    done();
  });

  installErrorHandlers(app, deps.logError);
  decorateAuth(app);
  // The provider-facing surface, every route behind the auth hook.
  installCors(app, deps.corsOrigins);
  void app.register(async (v1) => {
    v1.addHook('onRequest', authHook(deps.auth));
    if (deps.inflightBodies) installInflightBodyBound(v1, deps.inflightBodies, deps.bodyLimit);
    installRequestDecoding(v1);
    registerOpenAIRoutes(v1, deps);
  });
  registerHealthRoutes(app, deps.ready, deps.isDraining);
  // /admin/*: its own scope (token hook, error shape, schemas, OpenAPI document), see src/admin/scope.ts.
  const adminTokens = new AdminTokens(deps.adminToken, deps.adminReadToken);
  void app.register(async (admin) => {
    if (deps.adminStores) await registerAdminApi(admin, { stores: deps.adminStores, tokens: adminTokens, logError: deps.logError, prune: deps.prune });
    registerAdminRoutes(admin, { bus: deps.bus, adminToken: deps.adminToken, readToken: deps.adminReadToken, providers: deps.providers, usage: deps.usage });
  });
  registerDashboardRoutes(app);
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.metrics.render();
    return reply.header('content-type', deps.metrics.contentType).send(text);
  });
  return app;
}
