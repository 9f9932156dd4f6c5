// The storage seams. Every port is async (Promise-returning) even where the SQLite adapter is
// synchronous, so Postgres, Redis and ClickHouse adapters fit without touching the pipeline.
//
// Conventions for every port:
// - "not found" is a normal answer: `null` (or an empty list), never a thrown error;
// - a thrown error means the store could not answer (down, timeout, bug) and callers decide
//   how to degrade (see docs/operations.md);
// - times are epoch milliseconds (numbers), ids are strings.

// ---------- identity ----------

export interface Agent {
  name: string;
  description: string | null;
  /** requests per minute for the whole agent; null = unlimited */
  rpm: number | null;
  enabled: boolean;
  createdAt: number;
}

export interface NewAgent {
  name: string;
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
}

export interface PatRecord {
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

export interface NewPat {
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

export interface CheckpointInput {
  sessionId: string;
  agent: string;
  patId: string;
  /** ibex's own id of the request: the record's identity */
  requestId: string;
  /** The caller's X-Request-Id as received (and echoed, and sent upstream); null when it sent none */
  clientRequestId: string | null;
  model: string | null;
  directiveVersion: number | null;
  /** The messages exactly as sent upstream (directive included) */
  messages: unknown[];
  /** Full assistant reply text (reassembled for streams) */
  reply: string | null;
  finishReason: string | null;
  usage: Usage | null;
  status: CheckpointStatus;
  /** Error code when status != ok */
  errorCode: string | null;
  stream: boolean;
  /** When the request started; the session's order */
  createdAt: number;
}

export interface Checkpoint extends CheckpointInput {
  /** 1-based position in the session, ordered by request start time (createdAt) */
  seq: number;
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
}

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
  bytesIn: number;
  bytesOut: number;
  directiveVersion: number | null;
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

export interface TraceSink {
  /**
   * Writes a batch; throws if the store did not take it (the emitter retries and spools). Idempotent
   * per (requestId, startedAt), like checkpoints.
   */
  write(batch: Trace[]): Promise<void>;
  /** Most recent first. */
  list(filter?: TraceFilter): Promise<Trace[]>;
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
