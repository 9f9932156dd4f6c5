// The storage seams. Every port is async (Promise-returning) even where the SQLite adapter is
// synchronous, so Postgres, Redis and ClickHouse adapters fit without touching the pipeline.
//
// Conventions for every port:
// - "not found" is a normal answer: `null` (or an empty list), never a thrown error;
// - a thrown error means the store could not answer (down, timeout, bug) and callers decide
//   how to degrade (see docs/operations.md);
// - times are epoch milliseconds (numbers), ids are strings.

// ---------- identity ----------

/**
 * Token limits and spend budgets of an agent or a PAT (docs/usage-and-budgets.md); null = none.
 * Budgets are per UTC day / ISO week / month.
 */
export interface SpendLimits {
  /** tokens per minute */
  tpm: number | null;
  budgetUsdDay: number | null;
  budgetUsdWeek: number | null;
  budgetUsdMonth: number | null;
  budgetTokensDay: number | null;
  budgetTokensWeek: number | null;
  budgetTokensMonth: number | null;
  /** Percentage of a budget at which replies carry `x-ibex-budget-warning` (and a log line); null = 80 */
  budgetWarnPct: number | null;
  /** Model (or alias) served instead of refusing once a budget is spent; null = refuse with 429 */
  budgetFallbackModel: string | null;
}

export const SPEND_LIMIT_KEYS = [
  'tpm',
  'budgetUsdDay',
  'budgetUsdWeek',
  'budgetUsdMonth',
  'budgetTokensDay',
  'budgetTokensWeek',
  'budgetTokensMonth',
  'budgetWarnPct',
  'budgetFallbackModel',
] as const satisfies readonly (keyof SpendLimits)[];

export const NO_SPEND_LIMITS: Readonly<SpendLimits> = Object.freeze({
  tpm: null,
  budgetUsdDay: null,
  budgetUsdWeek: null,
  budgetUsdMonth: null,
  budgetTokensDay: null,
  budgetTokensWeek: null,
  budgetTokensMonth: null,
  budgetWarnPct: null,
  budgetFallbackModel: null,
});

export interface Agent extends SpendLimits {
  name: string;
  description: string | null;
  /** requests per minute for the whole agent; null = unlimited */
  rpm: number | null;
  enabled: boolean;
  createdAt: number;
  /** What its checkpoints keep of the conversation (issue 15); absent = 'full' */
  contentMode?: ContentMode;
}

/** `full`: messages and reply as sent; `redacted`: secrets and personal data masked; `metadata`: no content. */
export type ContentMode = 'full' | 'redacted' | 'metadata';

export interface NewAgent extends Partial<SpendLimits> {
  name: string;
  description?: string | null;
  rpm?: number | null;
}

/** The fields `agent update` may change; absent = unchanged, null = cleared. */
export interface AgentPatch extends Partial<SpendLimits> {
  description?: string | null;
  rpm?: number | null;
}

export interface AgentStore {
  /** Throws `ConflictError` if the name exists. */
  create(agent: NewAgent): Promise<Agent>;
  get(name: string): Promise<Agent | null>;
  list(): Promise<Agent[]>;
  /** Returns the updated agent, or null if unknown. Disabling also appends a revocation event. */
  setEnabled(name: string, enabled: boolean): Promise<Agent | null>;
  /** Sets what the agent's checkpoints keep; returns the updated agent, or null if unknown. */
  setContentMode(name: string, mode: ContentMode): Promise<Agent | null>;
  /** Changes the given fields; returns the updated agent, or null if unknown. */
  update(name: string, patch: AgentPatch): Promise<Agent | null>;
}

export interface PatRecord extends SpendLimits {
  id: string;
  /** First characters of the token, shown in lists and accepted by `pat revoke` */
  prefix: string;
  /** hex SHA-256 of the whole token; the token itself is never stored */
  hash: string;
  name: string | null;
  agents: string[];
  rpm: number | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface NewPat extends Partial<SpendLimits> {
  id: string;
  prefix: string;
  hash: string;
  name?: string | null;
  agents: string[];
  rpm?: number | null;
  expiresAt?: number | null;
}

export interface TokenStore {
  /** Throws `ConflictError` on duplicate id/hash; throws `NotFoundError` if an agent does not exist. */
  create(pat: NewPat): Promise<PatRecord>;
  findByHash(hash: string): Promise<PatRecord | null>;
  /** By id or by prefix (unique prefix only; ambiguous → `ConflictError`). */
  find(idOrPrefix: string): Promise<PatRecord | null>;
  list(filter?: { agent?: string }): Promise<PatRecord[]>;
  /** Marks revoked (idempotent) and appends a revocation event; null if unknown. */
  revoke(idOrPrefix: string): Promise<PatRecord | null>;
  /** Every token hash that could still be valid (not revoked), for building the bloom filter. */
  allHashes(): Promise<string[]>;
  /** Hashes of tokens created after `cursor` (a value from a previous call; 0 = start), for keeping the bloom current. */
  createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }>;
}

export type RevocationKind = 'pat' | 'agent';

export interface RevocationEvent {
  /** Monotonic sequence within the log */
  seq: number;
  kind: RevocationKind;
  /** PAT hash for kind 'pat'; agent name for kind 'agent' */
  subject: string;
  /** PAT id for kind 'pat' (for logs; never the secret) */
  patId?: string | null;
  at: number;
}

export interface RevocationLog {
  append(event: { kind: RevocationKind; subject: string; patId?: string | null }): Promise<RevocationEvent>;
  /** Events with seq > cursor, oldest first, at most `limit`. */
  since(cursor: number, limit?: number): Promise<RevocationEvent[]>;
  /** The highest seq (0 when empty), to start polling from "now". */
  head(): Promise<number>;
}

// ---------- directives ----------

export interface Directive {
  agent: string;
  version: number;
  text: string;
  /** hex SHA-256 of text */
  sha256: string;
  createdAt: number;
}

export interface DirectiveStore {
  /**
   * Appends the next immutable version. With `ifVersion`, fails with `ConflictError` unless the
   * current version is exactly that (0 = no version yet). Without it, concurrent appends each get
   * their own version: no update is lost.
   * Throws `NotFoundError` if the agent does not exist.
   */
  append(agent: string, text: string, opts?: { ifVersion?: number }): Promise<Directive>;
  current(agent: string): Promise<Directive | null>;
  get(agent: string, version: number): Promise<Directive | null>;
  history(agent: string): Promise<Directive[]>;
  /** agent → current version, for every agent that has one (the cheap poll of other processes' writes). */
  currentVersions(): Promise<Map<string, number>>;

  // --- deployments (issue 15): which version is served to whom ---

  /**
   * Like `append`, and in the same transaction sets how the new version is served: without `canary`
   * it is served to every new session (any running canary ends); with `canary: PCT` it is served to
   * PCT % of new sessions while the previous stable version keeps the rest (a running canary is
   * replaced; `ConflictError` when the agent has no version yet to compare with). `rollout:
   * 'all-sessions'` also moves sessions that started on an older version.
   */
  deploy(agent: string, text: string, opts?: DeployOptions): Promise<Directive>;
  /** The agent's deploy state; null when it has neither a directive nor settings. */
  deployState(agent: string): Promise<DirectiveDeploy | null>;
  /** Every agent's deploy state (the poll that catches other processes' changes). */
  deployStates(): Promise<Map<string, DirectiveDeploy>>;
  /**
   * Ends the running canary by serving its version to every new session. `ConflictError` when none
   * runs. `rollout` defaults to the canary's own.
   */
  promote(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<DirectiveDeploy>;
  /**
   * Ends the running canary by appending a new version with the stable version's text (versions are
   * never deleted, so "back" is a new version, like a rollback) and serving it. `ConflictError` when
   * none runs.
   */
  abort(agent: string, opts?: { rollout?: DirectiveRollout }): Promise<Directive>;
  /** Opt the agent in or out of provider prompt caching. `NotFoundError` for an unknown agent. */
  setPromptCache(agent: string, on: boolean): Promise<DirectiveDeploy>;
  /** The directive version a session started with (recorded with its first checkpoint); null if none yet. */
  sessionVersion(sessionId: string): Promise<number | null>;
  /** Per directive version of the agent: what its checkpoints recorded (prompt-cache hits among them). */
  checkpointTotals(agent: string): Promise<VersionCheckpointTotals[]>;
}

export type DirectiveRollout = 'new-sessions' | 'all-sessions';

export interface DeployOptions {
  /** Same as `append`'s: fail with `ConflictError` unless the latest version is exactly this */
  ifVersion?: number;
  /** Serve the new version to this percentage (1–100) of new sessions only */
  canary?: number;
  rollout?: DirectiveRollout;
}

export interface DirectiveDeploy {
  agent: string;
  /** The highest version written (0 = none); during a canary, the canary's */
  latest: number;
  /** Served to new sessions outside the canary; the latest version when no canary runs (0 = none) */
  stable: number;
  canary: { version: number; percent: number } | null;
  /** How the last change was rolled out */
  rollout: DirectiveRollout;
  /** Sessions that started on an older version are served this one (0 = none) */
  floor: number;
  promptCache: boolean;
  /** +1 on every change of this agent's deploy state */
  revision: number;
  updatedAt: number;
}

export interface VersionCheckpointTotals {
  version: number;
  checkpoints: number;
  sessions: number;
  promptTokens: number;
  /** Prompt tokens the provider served from its prompt cache */
  cachedTokens: number;
  /** Checkpoints that reported any cached prompt tokens */
  cacheHits: number;
}

// ---------- sessions ----------

/**
 * How a forwarded request ended. `incomplete`: a stream that ended without `data: [DONE]` (the client
 * got what was sent); `shutdown`: cut by this gateway's own drain timeout, not by the caller.
 */
export type CheckpointStatus = 'ok' | 'upstream_error' | 'client_aborted' | 'shutdown' | 'incomplete' | 'gateway_error' | 'rejected';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens served from the provider's prompt cache (part of promptTokens), when reported */
  cachedTokens?: number;
  /** Completion tokens spent on reasoning (part of completionTokens), when reported */
  reasoningTokens?: number;
}

/** What every checkpoint carries besides its messages (CheckpointInput adds them, in one of two forms). */
export interface CheckpointFields {
  sessionId: string;
  agent: string;
  patId: string;
  /** ibex's own id of the request: the record's identity */
  requestId: string;
  /** The caller's X-Request-Id as received (and echoed, and sent upstream); null when it sent none */
  clientRequestId: string | null;
  model: string | null;
  directiveVersion: number | null;
  /** Full assistant reply text (reassembled for streams) */
  reply: string | null;
  finishReason: string | null;
  usage: Usage | null;
  /** USD at the model's price; null when the model's price or the usage is unknown */
  costUsd: number | null;
  status: CheckpointStatus;
  /** Error code when status != ok */
  errorCode: string | null;
  stream: boolean;
  /** When the request started; the session's order */
  createdAt: number;
  // ---- the ledger (issue 15): what exact replay needs. Optional: absent on checkpoints written
  // before it, or spooled by an older version; read back only when set. ----
  /** The inbound protocol (`openai-chat`, `openai-responses`) */
  protocol?: string | null;
  /** The path under the provider's base URL (`/chat/completions`); the gateway route is `/v1` + it */
  upstreamPath?: string | null;
  provider?: string | null;
  /** The model the provider served (after aliases and fallback) */
  servedModel?: string | null;
  /**
   * The body sent upstream, exactly, with the messages' text replaced by references
   * (src/ledger/upstream-template.ts); null when not kept (metadata mode)
   */
  upstreamTemplate?: string | null;
  /** How content was recorded; absent = full */
  contentMode?: ContentMode;
  /** Messages the request had; set (and read back) when they were not stored (metadata mode) */
  messageCount?: number;
  /** `SESSION:TURN` of the turn this request replays (`ibex sessions replay`) */
  replayOf?: string | null;
  /** Fallback attempts that failed before the one that served */
  attempts?: ProviderAttempt[] | null;
  /** What the agent's policies changed, held or blocked in this turn; absent or null when none acted */
  policyDecisions?: PolicyDecisionRecord[] | null;
  /** `hit`: the turn was answered from the response cache; absent or null when the agent has none */
  cacheStatus?: CacheStatus | null;
  // ---- Responses continuations (migration 0013; src/sessions/response-links.ts) ----
  /** The provider reply id this turn created (`resp_…`); absent on other protocols and cache hits */
  responseId?: string | null;
  /** The id this turn continued (`conversation`, or a response made outside ibex) when nothing here had created it */
  continuedId?: string | null;
  /** The provider and key holding the reply's state; absent when ibex translated the turn (no state upstream) */
  stateAt?: ResponseStateAt | null;
  /** A turn ibex translated, as a continuation of it sends it again (content mode `full` only; written, not read back) */
  translatedTurn?: TranslatedTurnRecord | null;
}

/**
 * One translated Responses turn as later turns resend it (pipeline/translated-turns.ts), stored
 * beside its checkpoint's messages: its input items are those messages after the first `skip` (the
 * instructions), so a client that resends the whole conversation each turn stores it once in the
 * content-addressed ledger, not once per turn.
 */
export interface TranslatedTurnRecord {
  /** The response id this turn continued; null when it began the conversation */
  previous: string | null;
  /** Leading messages of the checkpoint that are not input items */
  skip: number;
  /** The reply as output items */
  output: unknown[];
}

/** A stored translated turn: whose it is, its items (input, then output) and the size of their text. */
export interface StoredTranslatedTurn {
  agent: string;
  previous: string | null;
  items: unknown[];
  bytes: number;
}

/** Where a Responses reply's state lives upstream: the provider (its ibex.yaml name) and the index of the key that created it. */
export interface ResponseStateAt {
  provider: string;
  /** Index in the provider's key pool; null when the provider has no key */
  keyIndex: number | null;
}

/** Whose a Responses reply (or conversation) id is, as the checkpoints of its turns say. */
export interface StoredResponseLink {
  sessionId: string;
  agent: string;
  stateAt: ResponseStateAt | null;
}

/**
 * The links of Responses turns that just ended, shared by every replica at once (Redis), for the
 * moment before their checkpoints reach the session store: a client's next turn can reach another
 * replica milliseconds after the reply, while the turn is still in the write-behind. Entries expire
 * once the store has long had them. Production only: one embedded process holds its own in memory.
 */
export interface RecentResponseLinks {
  /** The link of `id`, null when none was shared (or it expired). Rejects when it cannot answer. */
  get(id: string): Promise<StoredResponseLink | null>;
  /** Shares `id`'s link; not awaited by the request (a failure is reported, the store still gets it). */
  put(id: string, link: StoredResponseLink): void;
}

/**
 * A checkpoint to store, with its messages exactly as sent upstream (directive included) in exactly
 * one of two forms (checkpointMessageTexts reads either):
 * - `messageTexts`: the JSON texts the ledger stores (src/ledger/message-body.ts), in order. The
 *   gateway's recorder makes them anyway (for the body template), so the store does not serialise
 *   every message again, and texts cost less than objects to clone to the SQLite writer thread.
 * - `messages`: the objects, which the store serialises itself. Tests write these, and checkpoints
 *   spooled by a version before the texts replay with them.
 */
export type CheckpointInput = CheckpointFields &
  ({ messageTexts: string[]; messages?: undefined } | { messages: unknown[]; messageTexts?: undefined });

/** One failed attempt of a fallback chain: the target and the error code it ended with. */
export interface ProviderAttempt {
  provider: string;
  model: string;
  error: string;
}

/**
 * One decision of a policy (issue 17) that changed, held or blocked something: recorded on the
 * request's trace and checkpoint. Stream decisions of one kind are folded into one, with a count in
 * `detail` (`redacted 1 email (×3)`). Declared here (the stores keep it); src/policies/types.ts
 * re-exports it for policy code.
 */
export interface PolicyDecisionRecord {
  readonly policy: string;
  readonly phase: 'request' | 'stream' | 'response';
  readonly action: 'modify' | 'replace' | 'hold' | 'reject' | 'stop';
  /** What it did, short (`redacted 2 email`, `denied tool "shell"`) */
  readonly detail: string;
}

/** `hit` / `miss` of the response cache (issue 17); null when the agent has no cache or it was not asked. */
export type CacheStatus = 'hit' | 'miss';

export interface Checkpoint extends CheckpointFields {
  /** 1-based position in the session, ordered by request start time (createdAt) */
  seq: number;
  /** The messages exactly as sent upstream (directive included) */
  messages: unknown[];
}

export interface Session {
  id: string;
  agent: string;
  patId: string;
  createdAt: number;
  updatedAt: number;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Sum of the turns' known costs; null while no turn had a price */
  costUsd: number | null;
  status: string;
}

/** A checkpoint appendCheckpoints did not write: its session belongs to another agent. */
export interface RefusedCheckpoint {
  sessionId: string;
  requestId: string;
  /** The agent of the checkpoint */
  agent: string;
  /** The agent that owns the session */
  owner: string;
}

export interface AppendResult {
  refused: RefusedCheckpoint[];
}

export interface SessionPageFilter {
  agent?: string;
  limit?: number;
  /** Only sessions after this one in the order (the last of the previous page) */
  before?: { createdAt: number; id: string };
}

export interface SessionStore {
  /**
   * Writes a batch of checkpoints, creating sessions as needed and updating their totals, in one
   * transaction. Idempotent per (requestId, createdAt): a checkpoint already stored is skipped, so
   * replays after a failed ack are safe, while a new request that reuses an id (a different start
   * time) is still stored.
   *
   * A session belongs to one agent: a checkpoint whose agent is not the session's owner is not
   * written (nor counted in the totals) and is reported in `refused` instead; the rest of the batch
   * is written.
   */
  appendCheckpoints(batch: CheckpointInput[]): Promise<AppendResult>;
  /**
   * Makes `agent` the owner of session `sessionId` unless the session already has one, and returns
   * the owner (this agent, or the one that was first). Atomic across processes sharing the store:
   * of any number of concurrent claims of one new id, exactly one wins and all are told the same
   * owner. A session created this way has no turns until its first checkpoint. Throws when the store
   * cannot answer (the caller then cannot know the owner).
   */
  claimSession(sessionId: string, agent: string, patId: string, at: number): Promise<string>;
  getSession(id: string): Promise<Session | null>;
  listSessions(filter?: { agent?: string; limit?: number }): Promise<Session[]>;
  /**
   * Newest created first (createdAt, then id, both descending): unlike `listSessions`'s order, a
   * session's place never moves, so walking pages with `before` (the last row of the previous page)
   * neither repeats nor skips one while traffic continues. `limit` defaults to 50.
   */
  pageSessions(filter?: SessionPageFilter): Promise<Session[]>;
  checkpoints(sessionId: string): Promise<Checkpoint[]>;
  /**
   * The session, agent and upstream state of a Responses reply or conversation id: the checkpoint
   * that created the reply (`responseId`), else the first one that continued the id (`continuedId`);
   * null when no stored turn names it (never seen, pruned, or its checkpoint not written yet).
   */
  findResponseLink(id: string): Promise<StoredResponseLink | null>;
  /** The translated turn that created reply `responseId`; null when none is stored. */
  findTranslatedTurn(responseId: string): Promise<StoredTranslatedTurn | null>;
  /**
   * Every checkpoint matching the filter, oldest first, as a stream: read in pages by keyset
   * (created_at, request_id), so memory stays bounded by the page whatever the total. `seq` is
   * the stored write-order number (not recomputed by start time across the session).
   */
  exportCheckpoints(filter?: ExportFilter): AsyncIterable<Checkpoint>;
  /**
   * Retention: deletes sessions last updated before `sessionsBefore` (their checkpoints and then
   * the messages no session uses any more) and, when `tracesBefore` is set, relational traces that
   * started before it. Every delete is a bounded batch run by the database (no row is read into the
   * process); with `dryRun` nothing is deleted and the counts say what would be.
   */
  prune(opts: PruneOptions): Promise<PruneCounts>;
}

export interface ExportFilter {
  agent?: string;
  /** epoch ms: only checkpoints created at or after */
  since?: number;
  /** Rows per page (default 500) */
  pageSize?: number;
  /** Start after this checkpoint (the last one of a previous page): the admin API's export cursor */
  after?: { createdAt: number; requestId: string };
}

export interface PruneOptions {
  /** epoch ms; undefined = keep sessions forever */
  sessionsBefore?: number;
  /** epoch ms; undefined = keep (or traces are not in this store) */
  tracesBefore?: number;
  dryRun?: boolean;
  /** Rows per delete statement (default 5000) */
  batchSize?: number;
  /** Pause between two batches, ms (default 20): the writer lock is released for the request path */
  pauseMs?: number;
  /** Stop after this many batches per table (the background job continues on its next run) */
  maxBatches?: number;
}

/** Rows deleted (or, dry run, to delete) per table: traces, checkpoints, message_sessions, sessions, messages. */
export type PruneCounts = Record<string, number>;

// ---------- traces ----------

export interface Trace {
  /** ibex's own id of the request: the record's identity */
  requestId: string;
  /** The caller's X-Request-Id as received; null when it sent none (then X-Request-Id is requestId) */
  clientRequestId: string | null;
  sessionId: string | null;
  agent: string | null;
  patId: string | null;
  model: string | null;
  provider: string | null;
  stream: boolean;
  /** HTTP status returned to the client */
  status: number;
  /** Error code (catalog or upstream) when status >= 400 or the stream ended in error */
  errorCode: string | null;
  startedAt: number;
  totalMs: number;
  upstreamTtfbMs: number | null;
  upstreamMs: number | null;
  overheadMs: number;
  /** stage name → ms */
  stages: Record<string, number>;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  /** Prompt tokens served from the provider's cache (part of promptTokens), when reported */
  cachedTokens: number | null;
  /** Completion tokens spent on reasoning (part of completionTokens), when reported */
  reasoningTokens: number | null;
  /** USD at the model's price (src/usage/prices.ts); null when the price or the usage is unknown */
  costUsd: number | null;
  bytesIn: number;
  bytesOut: number;
  directiveVersion: number | null;
  /** The model the served provider was asked for (`model` is what the caller requested) */
  servedModel?: string | null;
  /** Fallback attempts that failed before the one that served (empty or absent: the first served) */
  attempts?: ProviderAttempt[] | null;
  /** What the agent's policies changed, held or blocked (also a rejected request's); null when none acted */
  policyDecisions?: PolicyDecisionRecord[] | null;
  /** The response cache's answer; null when the agent has no cache (or the request ended before the lookup) */
  cacheStatus?: CacheStatus | null;
}

export interface TraceFilter {
  agent?: string;
  sessionId?: string;
  /** Traces whose caller's X-Request-Id or whose own request id is this */
  requestId?: string;
  /** An HTTP status, or a class: `error` (status >= 400 or an error code, e.g. a stream cut mid-way), `ok` (the rest) */
  status?: number | 'ok' | 'error';
  /** Only traces that started at or after this instant */
  since?: number;
  /** Only traces after this one in list order (the last of the previous page): keyset pagination */
  before?: { startedAt: number; requestId: string };
  limit?: number;
}

export type UsageGroup = 'agent' | 'pat' | 'model' | 'provider' | 'day';

export interface UsageQuery {
  by: UsageGroup;
  /** epoch ms; traces that started at or after it */
  since: number;
  /** epoch ms; traces that started before it (default: no end) */
  until?: number;
  agent?: string;
}

/** Totals of the traces of one group (`ibex usage`, `GET /admin/v1/usage`). */
export interface UsageRow {
  /** The agent, PAT id, model, provider or UTC day (YYYY-MM-DD); null for traces without one */
  key: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Sum of the known costs */
  costUsd: number;
  /** Requests with tokens but no known price (their cost is not in costUsd) */
  unpricedRequests: number;
}

export interface TraceSink {
  /**
   * Writes a batch; throws if the store did not take it (the emitter retries and spools). Idempotent
   * per (requestId, startedAt), like checkpoints.
   */
  write(batch: Trace[]): Promise<void>;
  /** Most recent first. */
  list(filter?: TraceFilter): Promise<Trace[]>;
  /** Totals per group over the traces in the query's time range, largest cost first. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
}

// ---------- limits and bus ----------

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** ms until the window resets */
  resetMs: number;
}

export interface RateLimiter {
  /** Counts one request against `key` in a fixed window of `windowMs`, limit `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
}

/**
 * One counter of spend in a window (tokens or micro-USD), e.g. the agent `support`'s USD of 2025-06-01.
 * The key names the window (its start is part of it), so a new window is a new counter.
 */
export interface SpendCounter {
  key: string;
  /** The most the counter may reach; null = counted, never refused (a fallback's spend) */
  limit: number | null;
  /** How long the counter must live: until its window ends, plus slack for clock skew */
  ttlMs: number;
}

/** The answer to a reservation: all of it was counted, or none of it. */
export interface BudgetReservation {
  allowed: boolean;
  /** Index of the first counter without room for its amount (allowed=false) */
  denied: number | null;
  /** Each counter's value after the reservation (allowed) or as it was (denied) */
  spent: number[];
  counters: SpendCounter[];
  amounts: number[];
  /**
   * Where it was counted: the configured store, a `local` share (the shared store was down,
   * IBEX_BUDGET_ON_STORE_ERROR=local) or `none` (let through uncounted, mode `open`).
   */
  via: 'store' | 'local' | 'none';
}

/**
 * The ledger of spend behind token limits and budgets: shared by every replica (Redis) or in
 * process (embedded). Amounts are whole numbers (tokens, micro-USD).
 */
export interface BudgetStore {
  /**
   * Atomically, across every process sharing the store: when every counter that has a limit has room
   * (value + amount <= limit, and value < limit), adds each amount to its counter; otherwise adds
   * nothing and names the first counter without room. Throws when the store cannot answer.
   */
  reserve(counters: SpendCounter[], amounts: number[]): Promise<BudgetReservation>;
  /**
   * Replaces an allowed reservation's amounts with the actual ones (adds actual − reserved to each
   * counter; may be negative). A no-op for a denied reservation. Throws when the store cannot answer.
   */
  reconcile(reservation: BudgetReservation, actual: number[]): Promise<void>;
  /** The counters' current values (0 when absent); for reports and tests. */
  read(keys: string[]): Promise<number[]>;
}

export type BusTopic = 'revocation' | 'directive' | 'pat-created' | 'trace';

export interface Bus {
  publish(topic: BusTopic, message: unknown): Promise<void>;
  /** Returns an unsubscribe function. Handlers must not throw. */
  subscribe(topic: BusTopic, handler: (message: unknown) => void): () => void;
}

// ---------- health ----------

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** A store (or component) that can say whether it is reachable, and be closed. */
export interface Lifecycle {
  ready(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
}

/** Everything the gateway and CLI need, as picked by `stores/factory.ts`. */
export interface Stores extends Lifecycle {
  agents: AgentStore;
  tokens: TokenStore;
  revocations: RevocationLog;
  directives: DirectiveStore;
  sessions: SessionStore;
  traces: TraceSink;
  rateLimiter: RateLimiter;
  budgets: BudgetStore;
  bus: Bus;
  /** One line per adapter choice, e.g. `storage: sqlite /path` */
  describe(): string[];
}

// ---------- errors shared by adapters ----------

export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
