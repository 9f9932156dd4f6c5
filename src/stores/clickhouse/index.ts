// Traces in ClickHouse, over its HTTP interface (@clickhouse/client). Works from Debian's 18.16
// (what CI runs) up: no query parameters (values are escaped, see url.ts), version-specific
// migration variants (variants.ts), TTL retention where the server has it, partition drops where
// it does not (retention.ts).
//
// The gateway never waits for this: it writes through the TraceEmitter's BatchQueue, which batches,
// retries and spools. write() is idempotent per (request id, start) (ReplacingMergeTree + LIMIT 1 BY), so a
// replayed batch is harmless.
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { migrationSource, migrationStatusOf, pendingMigrations, type Migration } from '../migrations.js';
import { loadMigrations } from '../migrations.js';
import { markDataError } from '../errors.js';
import type { MigrationStatus } from '../relational.js';
import { listLimit } from '../relational.js';
import type { ReadinessCheck, Trace, TraceFilter, TraceSink, UsageQuery, UsageRow } from '../ports.js';
import { toUsageRow, type UsageSqlRow } from '../sql/usage.js';
import { dropPartitionStatement, expiredPartitions, ttlIsCurrent, ttlStatement } from './retention.js';
import { fromRow, toRow, TRACE_COLUMNS } from './rows.js';
import { ident, parseClickHouseUrl, quote, type ClickHouseTarget } from './url.js';
import { chooseVariant, parseVariants, renderStatements } from './variants.js';
import { FEATURES, parseVersion, versionAtLeast, type Version } from './version.js';

export interface ClickHouseTraceSinkOptions {
  /** Days traces are kept (config `traceRetentionDays`, default 30) */
  retentionDays?: number;
  log?: (line: string) => void;
  /** How often retention is enforced after migrate() (default hourly) */
  retentionIntervalMs?: number;
  /** Per-request timeout, ms (default 10 s) */
  requestTimeoutMs?: number;
  /** Folder of migration files (tests); default the shipped migrations/clickhouse */
  migrationsDir?: string;
}

export interface RetentionResult {
  mode: 'ttl' | 'drop-partitions';
  /** The statements that were run (empty when nothing needed doing) */
  statements: string[];
}

const MIGRATIONS_TABLE = 'ibex_migrations';
const DEFAULT_RETENTION_DAYS = 30;
const HOUR_MS = 3_600_000;

export class ClickHouseTraceSink implements TraceSink {
  readonly retentionDays: number;
  private readonly db: string;
  private readonly migrations: () => Migration[];
  private readonly log: (line: string) => void;
  private readonly retentionIntervalMs: number;
  private version: Version | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRun: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly target: ClickHouseTarget,
    opts: ClickHouseTraceSinkOptions = {},
  ) {
    this.db = ident(target.database);
    this.retentionDays = opts.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!Number.isInteger(this.retentionDays) || this.retentionDays < 1) throw new Error(`clickhouse: retentionDays must be a whole number >= 1`);
    this.log = opts.log ?? (() => undefined);
    this.retentionIntervalMs = opts.retentionIntervalMs ?? HOUR_MS;
    this.migrations = opts.migrationsDir ? cachedLoad(opts.migrationsDir) : migrationSource('clickhouse');
  }

  get database(): string {
    return this.target.database;
  }

  describe(): string {
    return `traces: clickhouse ${this.target.display}`;
  }

  // ---------- TraceSink ----------

  async write(batch: Trace[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.client.insert({
        table: `${this.db}.traces`,
        values: batch.map(toRow),
        format: 'JSONEachRow',
      });
    } catch (err) {
      throw isClickHouseDataError(err) ? markDataError(err) : err;
    }
  }

  async list(filter: TraceFilter = {}): Promise<Trace[]> {
    const where: string[] = [];
    if (filter.agent !== undefined) where.push(`agent = ${quote(filter.agent)}`);
    if (filter.sessionId !== undefined) where.push(`session_id = ${quote(filter.sessionId)}`);
    if (filter.requestId !== undefined) {
      // The caller's X-Request-Id or ibex's own: an operator has whichever the user reported.
      where.push(`(client_request_id = ${quote(filter.requestId)} OR request_id = ${quote(filter.requestId)})`);
    }
    if (filter.status === 'error') where.push('(status >= 400 OR error_code IS NOT NULL)');
    else if (filter.status === 'ok') where.push('(status < 400 AND error_code IS NULL)');
    else if (filter.status !== undefined) where.push(`status = ${num(filter.status)}`);
    if (filter.since !== undefined) where.push(`started_at_ms >= ${num(filter.since)}`);
    if (filter.before) {
      // The list order (started_at_ms DESC, request_id DESC): a page continues after the previous one's last row.
      const at = num(filter.before.startedAt);
      where.push(`(started_at_ms < ${at} OR (started_at_ms = ${at} AND request_id < ${quote(filter.before.requestId)}))`);
    }
    const limit = listLimit(filter.limit);
    // The inner query is a top-K (partial sort), not a sort of the whole table; the outer
    // LIMIT 1 BY hides replayed duplicates ReplacingMergeTree has not merged away yet. A duplicate
    // has the same start time, so the margin only needs to cover the (rare) unmerged copies.
    const order = 'ORDER BY started_at_ms DESC, request_id DESC';
    const rows = await this.queryRows(
      `SELECT ${TRACE_COLUMNS.join(', ')} FROM (` +
        `SELECT ${TRACE_COLUMNS.join(', ')} FROM ${this.db}.traces` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ${order} LIMIT ${limit * 4 + 100}` +
        `) ${order} LIMIT 1 BY request_id, started_at_ms LIMIT ${limit}`,
    );
    return rows.map(fromRow);
  }

  /**
   * Totals per group (`ibex usage`). FINAL: a replayed batch ReplacingMergeTree has not merged yet
   * must not count twice, or the totals would differ from the traces.
   */
  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const ms = (v: number) => String(Math.max(0, Math.floor(Number(v) || 0)));
    const where = [`started_at_ms >= ${ms(query.since)}`];
    if (query.until !== undefined) where.push(`started_at_ms < ${ms(query.until)}`);
    if (query.agent !== undefined) where.push(`agent = ${quote(query.agent)}`);
    const key = {
      agent: "nullIf(agent, '')",
      pat: 'pat_id',
      model: 'model',
      provider: 'provider',
      day: 'toString(toDate(started_at))',
    }[query.by];
    // Aliases differ from the column names: ClickHouse would otherwise read sum(x) AS x as a cycle.
    const rows = await this.queryRows(
      `SELECT ${key} AS k, count() AS n, sum(ifNull(prompt_tokens, 0)) AS p, sum(ifNull(completion_tokens, 0)) AS c, ` +
        `sum(ifNull(total_tokens, 0)) AS t, sum(ifNull(cached_tokens, 0)) AS ca, sum(ifNull(reasoning_tokens, 0)) AS re, ` +
        `sum(ifNull(cost_usd, 0)) AS usd, sum(isNull(cost_usd) AND isNotNull(total_tokens)) AS unpriced ` +
        `FROM ${this.db}.traces FINAL WHERE ${where.join(' AND ')} GROUP BY k ORDER BY usd DESC, t DESC, k`,
    );
    return rows.map((r) =>
      toUsageRow({
        k: r.k === null || r.k === undefined ? null : String(r.k),
        requests: r.n as string,
        prompt_tokens: r.p as string,
        completion_tokens: r.c as string,
        total_tokens: r.t as string,
        cached_tokens: r.ca as string,
        reasoning_tokens: r.re as string,
        cost_usd: r.usd as number,
        unpriced: r.unpriced as string,
      }),
    );
  }

  // ---------- migrations ----------

  /** Creates the database if missing, applies pending migrations; returns the names applied. */
  async migrate(): Promise<string[]> {
    await this.command(`CREATE DATABASE IF NOT EXISTS ${this.db}`);
    await this.command(
      `CREATE TABLE IF NOT EXISTS ${this.db}.${MIGRATIONS_TABLE} (name String, variant String, applied_at DateTime('UTC')) ` +
        `ENGINE = MergeTree ORDER BY name`,
    );
    const applied = await this.appliedMigrations();
    const server = await this.serverVersion();
    const done: string[] = [];
    for (const m of pendingMigrations(this.migrations(), applied)) {
      const variant = chooseVariant(parseVariants(m.sql, m.name), server);
      for (const stmt of renderStatements(variant, this.db)) {
        await this.command(stmt).catch((err: unknown) => {
          if (!columnAddedConcurrently(stmt, err)) throw err;
        });
      }
      await this.command(
        `INSERT INTO ${this.db}.${MIGRATIONS_TABLE} (name, variant, applied_at) VALUES (${quote(m.name)}, ${quote(variant.label)}, now())`,
      );
      this.log(`traces: clickhouse migration ${m.name} applied (${variant.label})`);
      done.push(m.name);
    }
    this.startRetention();
    return done;
  }

  async migrationStatus(): Promise<MigrationStatus[]> {
    const exists = await this.queryRows(
      `SELECT count() AS n FROM system.tables WHERE database = ${quote(this.target.database)} AND name = ${quote(MIGRATIONS_TABLE)}`,
    );
    const applied = Number(exists[0]?.n) > 0 ? await this.appliedMigrations() : new Map<string, number>();
    return migrationStatusOf(this.migrations(), applied);
  }

  /** Which variant each applied migration ran (e.g. `base` on 18.16). */
  async appliedVariants(): Promise<Map<string, string>> {
    const rows = await this.queryRows(`SELECT name, any(variant) AS variant FROM ${this.db}.${MIGRATIONS_TABLE} GROUP BY name`);
    return new Map(rows.map((r) => [String(r.name), String(r.variant)]));
  }

  // ---------- retention ----------

  /**
   * Applies retention once: sets the table TTL where the server supports it (only when it
   * differs), else drops daily partitions older than retentionDays. `dryRun`: only says what it would run.
   */
  async enforceRetention(now: number = Date.now(), dryRun = false): Promise<RetentionResult> {
    const server = await this.serverVersion();
    const statements: string[] = [];
    if (versionAtLeast(server, FEATURES.tableTtl)) {
      const rows = await this.queryRows(
        `SELECT engine_full FROM system.tables WHERE database = ${quote(this.target.database)} AND name = 'traces'`,
      );
      if (rows.length === 0) throw new Error('clickhouse: traces table missing (run `ibex migrate`)');
      if (!ttlIsCurrent(String(rows[0]!.engine_full), this.retentionDays)) {
        const stmt = ttlStatement(this.target.database, this.retentionDays);
        if (!dryRun) await this.command(stmt);
        statements.push(stmt);
        this.log(`traces: clickhouse retention set to ${this.retentionDays} days (table TTL)`);
      }
      return { mode: 'ttl', statements };
    }
    const parts = await this.queryRows(
      `SELECT DISTINCT partition FROM system.parts WHERE database = ${quote(this.target.database)} AND table = 'traces' AND active`,
    );
    const expired = expiredPartitions(parts.map((p) => String(p.partition)), this.retentionDays, now);
    for (const p of expired) {
      const stmt = dropPartitionStatement(this.target.database, p);
      if (!dryRun) await this.command(stmt);
      statements.push(stmt);
    }
    if (expired.length && !dryRun) this.log(`traces: clickhouse retention dropped ${expired.length} daily partition(s) older than ${this.retentionDays} days`);
    return { mode: 'drop-partitions', statements };
  }

  /** Runs retention now and then every retentionIntervalMs, in the background (started by migrate()). */
  private startRetention(): void {
    if (this.retentionTimer || this.closed) return;
    const run = () => {
      if (this.retentionRun) return;
      this.retentionRun = this.enforceRetention()
        .catch((err: unknown) => this.log(`traces: clickhouse retention failed, will retry: ${(err as Error).message}`))
        .finally(() => {
          this.retentionRun = null;
        });
    };
    run();
    this.retentionTimer = setInterval(run, this.retentionIntervalMs);
    this.retentionTimer.unref();
  }

  // ---------- lifecycle ----------

  async ready(): Promise<ReadinessCheck[]> {
    try {
      const ping = await this.client.ping();
      if (!ping.success) return [{ name: 'clickhouse', ok: false, detail: errorText(ping.error) }];
      const rows = await this.queryRows(
        `SELECT count() AS n FROM system.tables WHERE database = ${quote(this.target.database)} AND name = 'traces'`,
      );
      if (Number(rows[0]?.n) === 0) return [{ name: 'clickhouse', ok: false, detail: 'traces table missing (run `ibex migrate`)' }];
      return [{ name: 'clickhouse', ok: true }];
    } catch (err) {
      return [{ name: 'clickhouse', ok: false, detail: errorText(err) }];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    await this.retentionRun;
    await this.client.close();
  }

  /** `SELECT version()`, parsed, cached for the life of the sink. */
  async serverVersion(): Promise<Version> {
    if (!this.version) {
      const rows = await this.queryRows('SELECT version() AS v');
      this.version = parseVersion(String(rows[0]?.v));
    }
    return this.version;
  }

  // ---------- helpers ----------

  private async appliedMigrations(): Promise<Map<string, number>> {
    // A migration run twice by two processes at once is recorded twice; the first time counts.
    const rows = await this.queryRows(
      `SELECT name, toUInt64(min(applied_at)) AS at FROM ${this.db}.${MIGRATIONS_TABLE} GROUP BY name`,
    );
    return new Map(rows.map((r) => [String(r.name), Number(r.at) * 1000]));
  }

  private async command(query: string): Promise<void> {
    await this.client.command({ query });
  }

  private async queryRows(query: string): Promise<Record<string, unknown>[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow' });
    return rs.json<Record<string, unknown>>();
  }
}

/**
 * Opens a sink for `http://host:8123/DATABASE` (database from the path, else `default`). Does not
 * touch the server: migrate() creates the database and tables, ready() checks reachability.
 */
export async function openClickHouseTraceSink(url: string, opts: ClickHouseTraceSinkOptions = {}): Promise<ClickHouseTraceSink> {
  const target = parseClickHouseUrl(url);
  const client = createClient({
    url: target.origin,
    username: target.username,
    password: target.password,
    request_timeout: opts.requestTimeoutMs ?? 10_000,
    // No `database` here: it may not exist yet (migrate creates it); every query names it.
    application: 'ibex',
    // The client would print every failed request to stderr; failures surface as rejections and
    // the emitter logs them once per interval instead.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return new ClickHouseTraceSink(client, target, opts);
}

function cachedLoad(dir: string): () => Migration[] {
  let cached: Migration[] | undefined;
  return () => (cached ??= loadMigrations(dir));
}

/**
 * Servers without ADD COLUMN IF NOT EXISTS (18.16) fail the second of two processes migrating at once
 * with "column … already exists": the column is there, which is what the statement wanted.
 */
function columnAddedConcurrently(stmt: string, err: unknown): boolean {
  return /^ALTER TABLE \S+ ADD COLUMN /i.test(stmt) && /column with this name already exists/i.test(errorText(err));
}

// ClickHouse error codes that mean "this input cannot be stored": parse failures and values a type
// cannot hold. Server-state codes (memory, too many parts, timeouts, unknown table, auth) and
// network errors (no code at all) are availability and retried.
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE (a lone surrogate escape)
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DOESNT_MATCH
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/**
 * Whether ClickHouse refused an insert for the rows in it (see src/stores/errors.ts). Newer servers'
 * errors arrive as ClickHouseError with a `code`; 18.16's do not match the client's parser and
 * arrive as a plain Error whose message starts `Code: N, e.displayText() = …`.
 */
export function isClickHouseDataError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number(/^(?:Code|Error): (\d+)/.exec(err.message)?.[1]);
  if (!DATA_ERROR_CODES.has(code)) return false;
  // A column the server's table lacks (a migration not applied yet) fails every row alike: that is
  // the server's state, not the data's, and it is retried until someone migrates.
  return !/unknown field|no such column|NO_SUCH_COLUMN/i.test(err.message);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export { parseClickHouseUrl } from './url.js';

/** A number for a SQL literal (values are inlined here, see url.ts): anything but a finite number is refused, never spliced. */
function num(n: number): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`not a finite number: ${String(n)}`);
  return String(n);
}
