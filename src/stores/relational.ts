// What a relational adapter (SQLite embedded, Postgres production) gives the factory: the
// identity, directive, session and trace ports over one database, plus its migrations.
import type {
  AgentStore,
  DirectiveStore,
  ReadinessCheck,
  RevocationLog,
  SessionStore,
  TokenStore,
  TraceSink,
} from './ports.js';

export interface MigrationStatus {
  name: string;
  applied: boolean;
  /** epoch ms when it ran, null when pending */
  appliedAt: number | null;
}

export interface RelationalStores {
  agents: AgentStore;
  tokens: TokenStore;
  revocations: RevocationLog;
  directives: DirectiveStore;
  sessions: SessionStore;
  traces: TraceSink;
  /**
   * Applies pending migrations in name order and returns the names applied ([] when up to date).
   * Opening never migrates by itself: `ibex serve` and `ibex migrate` call this.
   */
  migrate(): Promise<string[]>;
  /** Every known migration (files, plus any applied one no longer shipped), in name order. */
  migrationStatus(): Promise<MigrationStatus[]>;
  /** One check named `storage`: reachable and no migration pending. */
  ready(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
  /** e.g. `storage: sqlite /home/me/.ibex/ibex.db` or `storage: postgres postgres://db:5432/ibex` (never a password) */
  describe(): string;
}

export interface RelationalOptions {
  /** Where lines about migrations and connection errors go (never secrets). */
  log?: (line: string) => void;
  /** Folder of NNNN_name.sql files; defaults to the package's migrations/<engine>/. */
  migrationsDir?: string;
}

/** Default page size of list methods that take a limit. */
export const DEFAULT_LIST_LIMIT = 50;

/** A caller's limit, made a positive integer (default when absent or not a number). */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.max(1, Math.floor(limit));
}

/**
 * The message of the ConflictError for an ambiguous PAT prefix. Every adapter's `TokenStore.find`
 * reads its argument the same way: an exact id wins, then an exact display prefix, then a unique
 * leading part of a display prefix; more than one match at a step is ambiguous, none at all is null.
 */
export function ambiguousPatMessage(idOrPrefix: string): string {
  return `"${idOrPrefix}" matches more than one token: give more characters or the id`;
}

/** A directive version that can exist (a positive 32-bit integer); anything else is simply not found. */
export function isVersion(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 2_147_483_647;
}

/** PostgreSQL URL for logs: scheme, host, port and database only (never user or password). */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable url)';
  }
}

/**
 * A checkpoint batch split per session, keeping each session's batch order and dropping repeats of
 * a requestId inside the batch. Sessions come in sorted id order so concurrent writers lock session
 * rows in the same order (no deadlock between two replicas' batches).
 */
export function checkpointsBySession<T extends { sessionId: string; requestId: string; createdAt: number }>(batch: readonly T[]): [string, T[]][] {
  const seen = new Set<string>();
  const groups = new Map<string, T[]>();
  for (const c of batch) {
    const key = `${c.requestId}\u0000${c.createdAt}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let g = groups.get(c.sessionId);
    if (!g) groups.set(c.sessionId, (g = []));
    g.push(c);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
