// JSON schemas of the admin API: fastify validates params, query and body with them, and
// @fastify/swagger builds /admin/v1/openapi.json from them. Responses are sent as the handlers build
// them (scope.ts turns off fastify's schema serializer, which would drop any field a schema forgot);
// test/e2e/admin-api.test.ts checks real answers against these response schemas, which refuse
// undocumented fields, so the document and the wire cannot drift apart.
//
// Times are ISO 8601 strings; nullable fields are `type: [T, 'null']` (JSON Schema, as OpenAPI 3.1 has it).

type Schema = Record<string, unknown>;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullable = (s: { type: string } & Schema): Schema => ({ ...s, type: [s.type, 'null'] });

/** An object whose every listed property is always present, and nothing else. */
export function record(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

/** A query string: the listed parameters; others are ignored (a cache-buster must not fail a read). */
function query(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties };
}

/** A request body: only the listed properties, none required unless named. */
function body(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: 'object', additionalProperties: false, required, properties, ...extra };
}

// ---------- shared pieces ----------

export const ErrorBody = record({
  error: record({ message: str, type: str, code: nullable(str), param: nullable(str) }),
});

/** The error answers of a route: 401 always, and the statuses it can give besides. */
export function errors(...statuses: (400 | 403 | 404 | 409)[]): Record<number, Schema> {
  const out: Record<number, Schema> = { 401: { ...ErrorBody, description: 'invalid_admin_token' } };
  const what: Record<number, string> = { 400: 'invalid_request', 403: 'admin_read_only', 404: 'not_found', 409: 'conflict' };
  for (const s of statuses) out[s] = { ...ErrorBody, description: what[s] };
  return out;
}

/** Write routes: the read-only token gets 403 admin_read_only. */
export const writeErrors = (...statuses: (400 | 404 | 409)[]) => errors(403, 400, ...statuses);

export const PageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'rows per page (default 50, at most 500)' },
  cursor: { type: 'string', description: '`next_cursor` of the previous page, unchanged' },
} as const;

export function pageOf(item: Schema): Schema {
  return record({
    data: { type: 'array', items: item },
    next_cursor: { type: ['string', 'null'], description: 'pass as `cursor` for the next page; null on the last page' },
  });
}

export const AGENT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const agentName = { type: 'string', pattern: AGENT_NAME_PATTERN, description: '1–64 letters, digits, ".", "_" or "-", starting with a letter or digit' };
const rpm = { type: ['integer', 'null'], minimum: 1, maximum: 10_000_000, description: 'requests per minute; null = unlimited' };

// ---------- agents ----------

export const Agent = record(
  {
    name: str,
    description: nullable(str),
    rpm: nullable(int),
    disabled: bool,
    createdAt: dateTime,
    directiveVersion: { ...nullable(int), description: 'the current directive version; null when it has none' },
    contentMode: { type: 'string', enum: ['full', 'redacted', 'metadata'], description: 'what its checkpoints keep (issue 15)' },
    // Limits and budgets (issue 14), null when unset
    tpm: nullable(int),
    budgetUsdDay: nullable(num),
    budgetUsdWeek: nullable(num),
    budgetUsdMonth: nullable(num),
    budgetTokensDay: nullable(int),
    budgetTokensWeek: nullable(int),
    budgetTokensMonth: nullable(int),
    budgetWarnPct: nullable(num),
    budgetFallbackModel: nullable(str),
  },
  ['contentMode', 'tpm', 'budgetUsdDay', 'budgetUsdWeek', 'budgetUsdMonth', 'budgetTokensDay', 'budgetTokensWeek', 'budgetTokensMonth', 'budgetWarnPct', 'budgetFallbackModel'],
);

export const AgentParams = record({ name: str });

export const NewAgentBody = body({ name: agentName, description: { type: ['string', 'null'], maxLength: 2000 }, rpm }, ['name']);

const posIntOrNull = (what: string) => ({ type: ['integer', 'null'], minimum: 1, description: `${what}; null clears it` });
const usdOrNull = (what: string) => ({ type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1e9, description: `${what} in US dollars; null clears it` });

/** What `ibex agent update` can change: every field optional, at least one given. */
export const AgentPatchBody = body(
  {
    rpm,
    description: { type: ['string', 'null'], maxLength: 2000 },
    disabled: bool,
    contentMode: { type: 'string', enum: ['full', 'redacted', 'metadata'], description: 'what its checkpoints keep' },
    promptCache: { ...bool, description: 'ask providers to cache the directive prefix' },
    tpm: posIntOrNull('tokens per minute'),
    budgetUsdDay: usdOrNull('spend per UTC day'),
    budgetUsdWeek: usdOrNull('spend per UTC week'),
    budgetUsdMonth: usdOrNull('spend per UTC month'),
    budgetTokensDay: posIntOrNull('tokens per UTC day'),
    budgetTokensWeek: posIntOrNull('tokens per UTC week'),
    budgetTokensMonth: posIntOrNull('tokens per UTC month'),
    budgetWarnPct: { type: ['integer', 'null'], minimum: 1, maximum: 100, description: 'warn at this % of a budget; null = 80' },
    budgetFallbackModel: { type: ['string', 'null'], minLength: 1, maxLength: 256, description: 'served instead of refusing once a budget is spent; null = refuse' },
  },
  [],
  { minProperties: 1 },
);

// ---------- PATs ----------

const patFields = {
  id: str,
  prefix: { ...str, description: 'the first characters of the token, shown in lists and accepted by revoke' },
  name: nullable(str),
  agents: { type: 'array', items: str },
  rpm: nullable(int),
  createdAt: dateTime,
  expiresAt: nullable(dateTime),
  revokedAt: nullable(dateTime),
};

/** A PAT as listed: never the secret nor its hash. */
export const Pat = record(patFields);

export const PatCreated = record({ ...patFields, token: { ...str, description: 'the secret: shown in this answer only, never again' } });

export const PatRevoked = record({ ...patFields, alreadyRevoked: { ...bool, description: 'true when it was revoked before this call' } });

export const PatParams = record({ idOrPrefix: str });

export const NewPatBody = body(
  {
    agents: { type: 'array', items: agentName, minItems: 1, maxItems: 100, description: 'agents the token may act for' },
    name: { type: ['string', 'null'], maxLength: 200 },
    expires: { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d|w)\\s*$', description: 'lifetime, e.g. 90s, 15m, 12h, 30d' },
    expiresAt: { ...dateTime, description: 'expiry instant (instead of `expires`)' },
    rpm,
  },
  ['agents'],
);

// ---------- directives ----------

export const Directive = record({ agent: str, version: int, text: str, sha256: str, createdAt: dateTime });

export const DirectiveDeploy = record({
  stable: { ...int, description: 'served to new sessions outside the canary (0 = none)' },
  latest: { ...int, description: 'the highest version written; during a canary, the canary' },
  canary: { ...nullable({ type: 'object' }), properties: { version: int, percent: int }, description: 'the running canary, or null' },
  rollout: { type: 'string', enum: ['new-sessions', 'all-sessions'] },
  promptCache: bool,
});

export const DirectiveHistory = record(
  {
    agent: str,
    current: { ...nullable(int), description: 'the current version; null when the agent has none' },
    data: { type: 'array', items: Directive, description: 'every version, newest first' },
    deploy: { ...DirectiveDeploy, description: 'how versions are served now (canary, rollout)' },
  },
  ['deploy'],
);

export const DeployEndBody = body({ rollout: { type: 'string', enum: ['new-sessions', 'all-sessions'], description: "default: the canary's own" } });

export const DirectiveStatsQuery = query({
  limit: { type: 'integer', minimum: 1, maximum: 50_000, default: 5000, description: 'how many recent traces of the agent to read' },
});

export const DirectiveStats = record({
  agent: str,
  traces: { ...int, description: 'how many recent traces were read' },
  canary: { ...nullable(int), description: 'the running canary percentage; null when none' },
  data: {
    type: 'array',
    description: 'per version, newest first: outcomes of its recent traces and its checkpoints',
    items: {
      type: 'object',
      required: ['version', 'role', 'requests', 'sessions', 'errors', 'errorRate'],
      properties: {
        version: int,
        role: str,
        requests: int,
        sessions: int,
        errors: int,
        errorRate: num,
        latencyMs: { type: 'object', properties: { p50: nullable(num), p95: nullable(num) } },
        promptTokens: int,
        completionTokens: int,
        totalTokens: int,
        costUsd: nullable(num),
        cachedTokens: int,
        cacheHits: int,
      },
    },
  },
});

export const DirectiveParams = record({ agent: str });
export const DirectiveVersionParams = record({ agent: str, version: { type: 'integer', minimum: 1 } });

export const SetDirectiveBody = body(
  {
    text: { type: 'string', minLength: 1, pattern: '\\S', description: 'the directive text (not blank)' },
    ifVersion: { type: 'integer', minimum: 0, description: 'fail with 409 conflict unless the current version is this (0 = none yet)' },
    canary: { type: 'integer', minimum: 1, maximum: 100, description: 'serve the new version to this % of new sessions only (sticky per session)' },
    rollout: { type: 'string', enum: ['new-sessions', 'all-sessions'], description: 'all-sessions: running sessions move to it too' },
  },
  ['text'],
);

export const RollbackBody = body({ to: { type: 'integer', minimum: 1, description: "the version whose text becomes the new version's" } }, ['to']);

export const DiffQuery = query({
  from: { type: 'integer', minimum: 1, description: 'default: the version before `to`' },
  to: { type: 'integer', minimum: 1, description: 'default: the current version' },
});

export const DirectiveDiff = record({ agent: str, from: int, to: int, diff: { ...str, description: 'unified diff of the texts; empty when equal' } });

/** What the agent's policies changed, held or blocked (issue 17); null (or absent) when none acted. */
const PolicyDecisions = {
  type: ['array', 'null'],
  items: record({
    policy: str,
    phase: { type: 'string', enum: ['request', 'stream', 'response'] },
    action: { type: 'string', enum: ['modify', 'replace', 'hold', 'reject', 'stop'] },
    detail: str,
  }),
  description: 'what each policy changed, held or blocked; stream decisions of one kind folded, with a count',
};

/** The response cache's answer (issue 17); null (or absent) when the agent has no cache. */
const CacheStatus = { type: ['string', 'null'], enum: ['hit', 'miss', null], description: 'the response cache: hit or miss; null when the agent has none' };

// ---------- sessions ----------

const sessionFields = {
  id: str,
  agent: str,
  patId: str,
  createdAt: dateTime,
  updatedAt: dateTime,
  turns: int,
  promptTokens: int,
  completionTokens: int,
  totalTokens: int,
  status: str,
  // Later issues: the session's total cost (14), the directive version it started with (15)
  costUsd: nullable(num),
  directiveVersion: nullable(int),
};
const SESSION_OPTIONAL = ['costUsd', 'directiveVersion'];

export const Session = record(sessionFields, SESSION_OPTIONAL);

const Usage = {
  ...record({ promptTokens: int, completionTokens: int, totalTokens: int, cachedTokens: int, reasoningTokens: int }, ['cachedTokens', 'reasoningTokens']),
  type: ['object', 'null'],
};

export const Checkpoint = record(
  {
  seq: { ...int, description: '1-based position in the session, by request start time' },
  sessionId: str,
  agent: str,
  patId: str,
  requestId: str,
  clientRequestId: nullable(str),
  model: nullable(str),
  directiveVersion: nullable(int),
  messages: { type: 'array', description: 'the messages as sent upstream (directive included)' },
  reply: nullable(str),
  finishReason: nullable(str),
  usage: Usage,
  status: str,
  errorCode: nullable(str),
  stream: bool,
  createdAt: dateTime,
    // Fields later issues add; absent on records written before them
    servedModel: nullable(str),
    provider: nullable(str),
    attempts: { type: 'array', items: { type: 'object' } },
    cachedTokens: nullable(int),
    reasoningTokens: nullable(int),
    costUsd: nullable(num),
    protocol: nullable(str),
    upstreamPath: nullable(str),
    upstreamTemplate: nullable(str),
    contentMode: str,
    messageCount: int,
    replayOf: nullable(str),
    policyDecisions: PolicyDecisions,
    cacheStatus: CacheStatus,
    responseId: { ...nullable(str), description: 'the Responses reply id this turn created' },
    continuedId: { ...nullable(str), description: 'the conversation (or outside response id) this turn was the first to continue' },
    stateAt: {
      ...record({ provider: str, keyIndex: nullable(int) }),
      type: ['object', 'null'],
      description: "the provider and key index holding the reply's state; absent when ibex translated the turn",
    },
  },
  ['servedModel', 'provider', 'attempts', 'cachedTokens', 'reasoningTokens', 'costUsd', 'protocol', 'upstreamPath', 'upstreamTemplate', 'contentMode', 'messageCount', 'replayOf', 'policyDecisions', 'cacheStatus', 'responseId', 'continuedId', 'stateAt'],
);

export const SessionDetail = record({ ...sessionFields, checkpoints: { type: 'array', items: Checkpoint } }, SESSION_OPTIONAL);

export const SessionParams = record({ id: str });

export const SessionsQuery = query({ agent: str, ...PageQuery });

/** The ledger export (`ibex sessions export --url`): checkpoints oldest first, in pages. */
export const CheckpointsQuery = query({
  agent: str,
  since: { ...dateTime, description: 'only checkpoints created at or after this instant' },
  ...PageQuery,
});

export const PatsQuery = query({ agent: str, ...PageQuery });

export const ListQuery = query({ ...PageQuery });

// ---------- traces ----------

export const Trace = record(
  {
  requestId: str,
  clientRequestId: nullable(str),
  sessionId: nullable(str),
  agent: nullable(str),
  patId: nullable(str),
  model: nullable(str),
  provider: nullable(str),
  stream: bool,
  status: int,
  errorCode: nullable(str),
  startedAt: dateTime,
  totalMs: num,
  upstreamTtfbMs: nullable(num),
  upstreamMs: nullable(num),
  overheadMs: num,
  stages: { type: 'object', additionalProperties: num, description: 'pipeline stage → ms' },
  promptTokens: nullable(int),
  completionTokens: nullable(int),
  totalTokens: nullable(int),
  bytesIn: int,
  bytesOut: int,
  directiveVersion: nullable(int),
    // Fields later issues add; absent on records written before them
    servedModel: nullable(str),
    attempts: { type: 'array', items: { type: 'object' } },
    cachedTokens: nullable(int),
    reasoningTokens: nullable(int),
    costUsd: nullable(num),
    policyDecisions: PolicyDecisions,
    cacheStatus: CacheStatus,
  },
  ['servedModel', 'provider', 'attempts', 'cachedTokens', 'reasoningTokens', 'costUsd', 'policyDecisions', 'cacheStatus'],
);

export const TracesQuery = query({
  agent: str,
  session: str,
  requestId: { ...str, description: "the caller's X-Request-Id or ibex's own request id" },
  status: { type: 'string', pattern: '^(ok|error|[1-5][0-9][0-9])$', description: 'an HTTP status, `error` (>= 400 or an error code) or `ok`' },
  ...PageQuery,
});

// ---------- overview ----------

const percentiles = record({ p50: nullable(num), p99: nullable(num) });

export const OverviewQuery = query({
  window: { type: 'string', pattern: '^\\s*\\d+\\s*(s|m|h)\\s*$', default: '5m', description: 'how far back: 30s to 24h (default 5m)' },
});

export const Overview = record({
  window: str,
  requests: int,
  rps: num,
  errorRate: { ...num, description: 'share of requests with status >= 400 or an error code (0 when none)' },
  latency: percentiles,
  overhead: percentiles,
  costTodayUsd: { ...nullable(num), description: 'null until the usage report (issue 14) is wired in' },
  topAgents: { type: 'array', items: record({ agent: nullable(str), requests: int }) },
  topModels: { type: 'array', items: record({ model: nullable(str), requests: int }) },
  series: { type: 'array', items: record({ t: dateTime, requests: int, errors: int }) },
  truncated: { ...bool, description: 'true when the window held more traces than the overview reads (the newest are counted)' },
});

// ---------- retention ----------

export const PruneBody = body({ dryRun: { ...bool, description: 'only count what would be deleted' } });

export const PruneReport = record({
  dryRun: bool,
  traces: { ...str, description: 'trace retention applied, e.g. `30d` or `forever`' },
  sessions: { ...str, description: 'session retention applied' },
  counts: { type: 'object', additionalProperties: int, description: 'rows per table deleted (or, dry run, to delete)' },
  notes: { type: 'array', items: str },
});

// ---------- routes registered outside src/admin (src/server/routes/admin.ts) ----------

/**
 * Schemas for the admin routes src/server/routes/admin.ts registers; scope.ts attaches them as those
 * routes are added, so they are documented like the rest.
 */
const jsonOk = (description: string, schema: Schema) => ({ description, content: { 'application/json': { schema } } });

export const OUTSIDE_ROUTE_SCHEMAS: Record<string, Schema> = {
  'GET /admin/v1/providers': {
    summary: "This replica's providers: health, key pools (masked), and the models and aliases of ibex.yaml",
    response: {
      200: jsonOk('providers and models', { type: 'object', required: ['providers'], properties: { providers: { type: 'array', items: { type: 'object' } }, models: { type: 'object' } } }),
      ...errors(),
    },
  },
  'GET /admin/v1/usage': {
    summary: 'Usage totals from the trace store, grouped (the numbers behind `ibex usage`)',
    querystring: query({ by: { type: 'string', enum: ['agent', 'pat', 'model', 'provider', 'day'] }, since: str, until: str, agent: str }),
    response: {
      200: jsonOk('usage report', { type: 'object', required: ['by', 'since', 'rows', 'total'], properties: { by: str, since: str, until: nullable(str), agent: nullable(str), rows: { type: 'array', items: { type: 'object' } }, total: { type: 'object' } } }),
      ...errors(400),
    },
  },
  'GET /admin/v1/events': {
    summary: 'Live traces (Server-Sent Events)',
    description: 'One `event: trace` per request (the Trace fields, startedAt in epoch ms), `event: dropped` when this client fell behind.',
    querystring: query({ agent: str }),
    response: {
      200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: str } } },
      ...errors(),
    },
  },
};
