// /admin/v1/pats: list (never the secret), issue (the token is in the 201 answer and nowhere else,
// ever), read one, revoke (pushed to every gateway: refused within seconds).
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../errors.js';
import { createPat, revokePat } from '../ops/identity.js';
import { ConflictError, NotFoundError, type PatRecord } from '../stores/ports.js';
import { parseDuration } from '../util/duration.js';
import { noSuchAgent, notFound } from './agents.js';
import { ADMIN_PREFIX, type AdminApiDeps } from './deps.js';
import { AdminError } from './errors.js';
import { decodeCursor, slicePage } from './pagination.js';
import { errors, NewPatBody, pageOf, Pat, PatCreated, PatParams, PatRevoked, PatsQuery, writeErrors } from './schemas.js';
import { patView } from './views.js';

interface NewPatRequest {
  agents: string[];
  name?: string | null;
  expires?: string;
  expiresAt?: string;
  rpm?: number | null;
}

const invalid = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

/** The expiry instant of a new PAT from `expires` (a duration) or `expiresAt` (an instant); null = never. */
function expiryOf(b: NewPatRequest, now: number): number | null {
  if (b.expires !== undefined && b.expiresAt !== undefined) throw invalid('Give `expires` or `expiresAt`, not both.', 'expires');
  if (b.expires !== undefined) {
    const ms = parseDuration(b.expires);
    if (ms === null) throw invalid('`expires` must be a duration like 90s, 15m, 12h or 30d (at most 100 years).', 'expires');
    return now + ms;
  }
  if (b.expiresAt !== undefined) {
    const at = Date.parse(b.expiresAt);
    if (!Number.isFinite(at) || at <= now) throw invalid('`expiresAt` must be an ISO 8601 instant in the future.', 'expiresAt');
    return at;
  }
  return null;
}

/** The PAT `idOrPrefix` names: 404 when none, 409 when a prefix matches several. */
async function findPat(deps: AdminApiDeps, idOrPrefix: string): Promise<PatRecord> {
  let p: PatRecord | null;
  try {
    p = await deps.stores.tokens.find(idOrPrefix);
  } catch (err) {
    if (err instanceof ConflictError) throw new AdminError('IBEX_ERR_CONFLICT', { message: err.message, param: 'idOrPrefix' });
    throw err;
  }
  if (!p) throw notFound(`No PAT matches "${idOrPrefix}".`, 'idOrPrefix');
  return p;
}

export function registerPatRoutes(app: FastifyInstance, deps: AdminApiDeps): void {
  const { stores } = deps;
  const now = deps.now ?? Date.now;

  app.get(
    `${ADMIN_PREFIX}/pats`,
    {
      schema: {
        tags: ['pats'],
        summary: 'List PATs, newest first (never their secrets)',
        querystring: PatsQuery,
        response: { 200: pageOf(Pat), ...errors(400, 404) },
      },
    },
    async (request) => {
      const q = request.query as { agent?: string; limit: number; cursor?: string };
      const cursor = decodeCursor(q.cursor, 'pats', false);
      if (q.agent !== undefined && !(await stores.agents.get(q.agent))) throw noSuchAgent(q.agent, 'agent');
      const pats = await stores.tokens.list(q.agent !== undefined ? { agent: q.agent } : {});
      const page = slicePage(pats, q.limit, 'pats', cursor, (p) => p.id);
      return { data: page.data.map(patView), next_cursor: page.next_cursor };
    },
  );

  app.post(
    `${ADMIN_PREFIX}/pats`,
    {
      schema: {
        tags: ['pats'],
        summary: 'Issue a PAT; the token is in this answer only',
        body: NewPatBody,
        response: { 201: PatCreated, ...writeErrors(404) },
      },
    },
    async (request, reply) => {
      const b = request.body as NewPatRequest;
      const expiresAt = expiryOf(b, now());
      const agents = [...new Set(b.agents)];
      for (const name of agents) if (!(await stores.agents.get(name))) throw noSuchAgent(name, 'agents');
      let created;
      try {
        created = await createPat(stores, { agents, name: b.name ?? null, rpm: b.rpm ?? null, expiresAt });
      } catch (err) {
        // An agent created and gone between the check and the insert cannot happen (no deletes), but say it right.
        if (err instanceof NotFoundError) throw notFound(err.message, 'agents');
        throw err;
      }
      // The secret must not sit in any cache between here and the operator.
      return reply.code(201).header('cache-control', 'no-store').send({ ...patView(created.record), token: created.token });
    },
  );

  app.get(
    `${ADMIN_PREFIX}/pats/:idOrPrefix`,
    {
      schema: {
        tags: ['pats'],
        summary: 'One PAT, by id or unique prefix',
        params: PatParams,
        response: { 200: Pat, ...errors(404, 409) },
      },
    },
    async (request) => patView(await findPat(deps, (request.params as { idOrPrefix: string }).idOrPrefix)),
  );

  app.post(
    `${ADMIN_PREFIX}/pats/:idOrPrefix/revoke`,
    {
      schema: {
        tags: ['pats'],
        summary: 'Revoke a PAT (idempotent): every gateway refuses it within seconds',
        params: PatParams,
        response: { 200: PatRevoked, ...writeErrors(404, 409) },
      },
    },
    async (request) => {
      const before = await findPat(deps, (request.params as { idOrPrefix: string }).idOrPrefix);
      if (before.revokedAt !== null) return { ...patView(before), alreadyRevoked: true };
      const after = await revokePat(stores, before.id);
      if (!after) throw notFound(`No PAT matches "${before.id}".`, 'idOrPrefix');
      return { ...patView(after), alreadyRevoked: false };
    },
  );
}
