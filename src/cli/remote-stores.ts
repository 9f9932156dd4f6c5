// The store ports over the admin API: what withStores hands a management command when it runs with
// --url. The commands and src/ops run unchanged; each port method is one admin call (lists walk the
// pages). Writes are made and announced by the gateway itself (the admin routes call the same ops),
// so this side's revocation log is empty and its bus is silent.
import { UserError } from '../errors.js';
import type { CreatedPat, PatIssuer, PatRequest } from '../ops/identity.js';
import type { OpenedStores } from '../stores/factory.js';
import {
  ConflictError,
  NotFoundError,
  type Agent,
  type AgentStore,
  type Bus,
  type Checkpoint,
  type Directive,
  type DirectiveDeploy,
  type DirectiveStore,
  type ExportFilter,
  type NewAgent,
  type PatRecord,
  type RevocationLog,
  type Session,
  type SessionPageFilter,
  type SessionStore,
  type TokenStore,
  type Trace,
  type TraceFilter,
  type TraceSink,
  type UsageQuery,
  type UsageRow,
} from '../stores/ports.js';
import { encodeCursor } from '../admin/pagination.js';
import { AdminApiError, AdminClient } from './admin-client.js';
import type { RemoteTarget } from './remote-target.js';

/** A command that needs the stores themselves, not what the admin API offers. */
function notRemote(what: string): never {
  throw new UserError(`${what} is not available through --url`, 'run this command where the stores are reachable (without --url)');
}

/** The API's record with its ISO instants (`…At`) back as the stores' epoch milliseconds. */
function epochTimes<T>(value: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = /At$/.test(k) && typeof v === 'string' ? Date.parse(v) : v;
  return out as T;
}

/** null for 404, the store's ConflictError for 409; anything else propagates. */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AdminApiError && err.status === 404) return null;
    throw asStoreError(err);
  }
}

function asStoreError(err: unknown): unknown {
  if (err instanceof AdminApiError && err.status === 409) return new ConflictError(err.message);
  if (err instanceof AdminApiError && err.status === 404) return new NotFoundError(err.message);
  if (err instanceof AdminApiError) return new UserError(`the gateway answered ${err.status} ${err.code ?? ''}: ${err.message}`.replace('  ', ' '));
  return err;
}

const seg = encodeURIComponent;

type ApiAgent = Record<string, unknown> & { disabled: boolean; directiveVersion: number | null };

function toAgent({ disabled, directiveVersion: _v, ...rest }: ApiAgent): Agent {
  return { ...epochTimes<Omit<Agent, 'enabled'>>(rest), enabled: !disabled };
}

/** The API never sends a PAT's hash: remote records carry an empty one (no command shows it). */
const toPat = (p: Record<string, unknown>): PatRecord => ({ ...epochTimes<PatRecord>(p), hash: '' });

function remoteAgents(api: AdminClient): Partial<AgentStore> {
  return {
    create: (agent: NewAgent) =>
      api
        .post<ApiAgent>('/agents', { name: agent.name, description: agent.description ?? null, rpm: agent.rpm ?? null })
        .then(toAgent, (err) => Promise.reject(asStoreError(err))),
    get: async (name) => (await orNull(api.get<ApiAgent>(`/agents/${seg(name)}`)).then((a) => a && toAgent(a))),
    list: async () => (await api.all<ApiAgent>('/agents')).map(toAgent),
    setEnabled: async (name, enabled) => (await orNull(api.patch<ApiAgent>(`/agents/${seg(name)}`, { disabled: !enabled })).then((a) => a && toAgent(a))),
    // `ibex agent update` (limits, budgets, content mode) goes through PATCH too.
    update: async (name, patch) => (await orNull(api.patch<ApiAgent>(`/agents/${seg(name)}`, patch)).then((a) => a && toAgent(a))),
    setContentMode: async (name, contentMode) => (await orNull(api.patch<ApiAgent>(`/agents/${seg(name)}`, { contentMode })).then((a) => a && toAgent(a))),
  };
}

function remoteTokens(api: AdminClient): TokenStore & PatIssuer {
  return {
    // The gateway makes the secret: createPat (src/ops) asks it through issue().
    async issue(opts: PatRequest): Promise<CreatedPat> {
      const body = {
        agents: opts.agents,
        name: opts.name ?? null,
        rpm: opts.rpm ?? null,
        ...(opts.expiresAt != null ? { expiresAt: new Date(opts.expiresAt).toISOString() } : {}),
      };
      const created = await api.post<Record<string, unknown> & { token: string }>('/pats', body).catch((err) => Promise.reject(asStoreError(err)));
      const { token, ...record } = created;
      return { record: toPat(record), token };
    },
    create: () => notRemote('writing a PAT record'),
    findByHash: () => notRemote('looking a PAT up by hash'),
    find: async (idOrPrefix) => {
      const p = await orNull(api.get<Record<string, unknown>>(`/pats/${seg(idOrPrefix)}`));
      return p && toPat(p);
    },
    list: async (filter) => (await api.all<Record<string, unknown>>('/pats', { agent: filter?.agent })).map(toPat),
    revoke: async (idOrPrefix) => {
      const r = await orNull(api.post<Record<string, unknown>>(`/pats/${seg(idOrPrefix)}/revoke`));
      if (!r) return null;
      const { alreadyRevoked: _a, ...record } = r;
      return toPat(record);
    },
    allHashes: () => notRemote('reading PAT hashes'),
    createdSince: () => notRemote('reading PAT hashes'),
  };
}

/** The gateway appends and pushes revocations itself: nothing to publish from here. */
const remoteRevocations: RevocationLog = {
  append: () => notRemote('writing the revocation log'),
  since: async () => [],
  head: async () => 0,
};

function remoteDirectives(api: AdminClient): Partial<DirectiveStore> {
  type History = { current: number | null; data: Record<string, unknown>[] };
  const history = async (agent: string) => (await orNull(api.get<History>(`/directives/${seg(agent)}`)))?.data.map((d) => epochTimes<Directive>(d)) ?? [];
  return {
    append: (agent, text, opts) =>
      api
        .post<Record<string, unknown>>(`/directives/${seg(agent)}`, { text, ...(opts?.ifVersion === undefined ? {} : { ifVersion: opts.ifVersion }) })
        .then((d) => epochTimes<Directive>(d), (err) => Promise.reject(asStoreError(err))),
    current: async (agent) => (await history(agent))[0] ?? null,
    get: async (agent, version) => {
      if (!Number.isInteger(version) || version < 1) return null;
      const d = await orNull(api.get<Record<string, unknown>>(`/directives/${seg(agent)}/versions/${version}`));
      return d && epochTimes<Directive>(d);
    },
    history,
    // Deploys (issue 15): set with canary/rollout, the deploy state, promote, abort.
    deploy: (agent, text, opts = {}) =>
      api
        .post<Record<string, unknown>>(`/directives/${seg(agent)}`, {
          text,
          ...(opts.ifVersion === undefined ? {} : { ifVersion: opts.ifVersion }),
          ...(opts.canary === undefined ? {} : { canary: opts.canary }),
          ...(opts.rollout === undefined ? {} : { rollout: opts.rollout }),
        })
        .then((d) => epochTimes<Directive>(d), (err) => Promise.reject(asStoreError(err))),
    deployState: async (agent) => {
      const h = await orNull(api.get<{ deploy?: Omit<DirectiveDeploy, 'agent'> }>(`/directives/${seg(agent)}`));
      return h?.deploy ? ({ agent, ...h.deploy } as DirectiveDeploy) : null;
    },
    promote: (agent, opts = {}) =>
      api
        .post<Omit<DirectiveDeploy, 'agent'>>(`/directives/${seg(agent)}/promote`, opts.rollout ? { rollout: opts.rollout } : {})
        .then((d) => ({ agent, ...d }) as DirectiveDeploy, (err) => Promise.reject(asStoreError(err))),
    abort: async (agent, opts = {}) => {
      await api.post(`/directives/${seg(agent)}/abort`, opts.rollout ? { rollout: opts.rollout } : {}).catch((err) => Promise.reject(asStoreError(err)));
      return (await history(agent))[0]!;
    },
    // PATCH answers the agent; the deploy state (which holds promptCache) is read after it.
    setPromptCache: async (agent, promptCache) => {
      const a = await orNull(api.patch<ApiAgent>(`/agents/${seg(agent)}`, { promptCache }));
      const h = a && (await orNull(api.get<{ deploy?: Omit<DirectiveDeploy, 'agent'> }>(`/directives/${seg(agent)}`)));
      if (!h?.deploy) throw new NotFoundError(`no agent named "${agent}"`);
      return { agent, ...h.deploy } as DirectiveDeploy;
    },
    currentVersions: async () => {
      const agents = await api.all<ApiAgent & { name: string }>('/agents');
      return new Map(agents.filter((a) => a.directiveVersion !== null).map((a) => [a.name, a.directiveVersion!]));
    },
  };
}

function remoteSessions(api: AdminClient): Partial<SessionStore> {
  type Detail = Record<string, unknown> & { checkpoints: Record<string, unknown>[] };
  // `sessions show` asks for the session and then its checkpoints: one call answers both.
  const details = new Map<string, Promise<Detail | null>>();
  const detail = (id: string) => {
    let d = details.get(id);
    if (!d) details.set(id, (d = orNull(api.get<Detail>(`/sessions/${seg(id)}`))));
    return d;
  };
  const page = (filter: SessionPageFilter | undefined, max: number) =>
    api.all<Record<string, unknown>>(
      '/sessions',
      {
        agent: filter?.agent,
        cursor: filter?.before ? encodeCursor({ k: 'sessions', at: filter.before.createdAt, id: filter.before.id }) : undefined,
      },
      max,
    );
  return {
    appendCheckpoints: () => notRemote('writing checkpoints'),
    claimSession: () => notRemote('claiming a session'),
    getSession: async (id) => {
      const d = await detail(id);
      if (!d) return null;
      const { checkpoints: _c, ...session } = d;
      return epochTimes<Session>(session);
    },
    // Through the API, sessions come newest created first (the order its pages keep stable).
    listSessions: async (filter) => (await page(filter, filter?.limit ?? 50)).map((s) => epochTimes<Session>(s)),
    pageSessions: async (filter) => (await page(filter, filter?.limit ?? 50)).map((s) => epochTimes<Session>(s)),
    checkpoints: async (id) => ((await detail(id))?.checkpoints ?? []).map((c) => epochTimes<Checkpoint>(c)),
    // GET /sessions/{id} already finds a session by a Responses id it is given (src/sessions/find.ts)
    findResponseLink: async () => null,
    // The ledger export: GET /checkpoints, oldest first, one page in memory at a time.
    exportCheckpoints: (filter: ExportFilter = {}) => ({
      async *[Symbol.asyncIterator]() {
        let cursor: string | undefined;
        do {
          const page = await api
            .get<{ data: Record<string, unknown>[]; next_cursor: string | null }>('/checkpoints', {
              agent: filter.agent,
              since: filter.since === undefined ? undefined : new Date(filter.since).toISOString(),
              limit: 500,
              cursor,
            })
            .catch((err) => Promise.reject(asStoreError(err)));
          for (const c of page.data) yield epochTimes<Checkpoint>(c);
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
      },
    }),
  };
}

function remoteTraces(api: AdminClient): Partial<TraceSink> {
  return {
    // `ibex usage`: the gateway sums its own trace store (GET /admin/v1/usage answers the report).
    usage: async (query: UsageQuery) => {
      const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
      const report = await api
        .get<{ rows: UsageRow[] }>('/usage', { by: query.by, since: iso(query.since), until: iso(query.until), agent: query.agent })
        .catch((err) => Promise.reject(asStoreError(err)));
      return report.rows;
    },
    write: () => notRemote('writing traces'),
    list: async (filter: TraceFilter = {}) => {
      if (filter.since !== undefined) notRemote('a trace time window');
      const rows = await api.all<Record<string, unknown>>(
        '/traces',
        {
          agent: filter.agent,
          session: filter.sessionId,
          requestId: filter.requestId,
          status: filter.status,
          cursor: filter.before ? encodeCursor({ k: 'traces', at: filter.before.startedAt, id: filter.before.requestId }) : undefined,
        },
        filter.limit ?? 50,
      );
      return rows.map((t) => epochTimes<Trace>(t));
    },
  };
}

/**
 * `port` with every method it lacks answering "not available through --url": a store method added
 * later (and not yet served by the admin API) fails with a user error naming it, not a TypeError.
 */
function completed<T extends object>(name: string, port: T): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      // `then` must stay undefined, or awaiting the port would treat it as a promise.
      if (prop in target || typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return Reflect.get(target, prop, receiver);
      return () => notRemote(`${name}.${prop}`);
    },
  });
}

const silentBus: Bus = {
  publish: async () => {},
  subscribe: () => () => {},
};

/** OpenedStores whose identity, directive, session and trace ports call the admin API at `target`. */
export function openRemoteStores(target: RemoteTarget): OpenedStores {
  const api = new AdminClient(target);
  return {
    // Methods without an admin route (added by later issues) answer "not available through --url".
    agents: completed('agents', remoteAgents(api)) as AgentStore,
    tokens: completed('tokens', remoteTokens(api)),
    revocations: remoteRevocations,
    directives: completed('directives', remoteDirectives(api)) as DirectiveStore,
    sessions: completed('sessions', remoteSessions(api)) as SessionStore,
    traces: completed('traces', remoteTraces(api)) as TraceSink,
    budgets: completed('budgets', {}) as OpenedStores['budgets'],
    rateLimiter: { hit: () => notRemote('the rate limiter') },
    bus: silentBus,
    directiveCache: new Proxy({} as OpenedStores['directiveCache'], { get: () => () => notRemote('the directive cache') }),
    describe: () => [`admin API: ${target.url}`],
    // The gateway migrates its own stores when it starts.
    migrate: async () => [],
    migrationStatus: () => notRemote('`ibex migrate --status`'),
    ready: async () => [{ name: 'admin-api', ok: true }],
    close: async () => {},
  };
}
