// The ONLY place that reads configuration to pick storage adapters. Each backend is chosen on its own:
//   relational (tokens, agents, directives, sessions): Postgres if IBEX_DATABASE_URL, else SQLite
//   traces: ClickHouse if IBEX_CLICKHOUSE_URL, else the relational store
//   rate limits, directive cache, bus: Redis if IBEX_REDIS_URL, else in-process
// Production adapters are imported lazily so embedded mode never loads pg, ioredis or ClickHouse.
import { join } from 'node:path';
import type { IbexConfig } from '../config.js';
import type { Stores, TraceSink, ReadinessCheck, RateLimiter, Bus, BudgetStore, RecentResponseLinks } from './ports.js';
import { OutageTolerantBudgetStore, type BudgetOutageMode } from '../usage/outage.js';
import type { RelationalStores } from './relational.js';
import type { DirectiveCache } from './memory/directive-cache.js';
import { failureDetail, withDeadline } from '../util/deadline.js';

export interface MigrationReport {
  store: string;
  applied: string[];
}

export interface MigrationStatusRow {
  store: string;
  name: string;
  applied: boolean;
  appliedAt: number | null;
}

export interface OpenedStores extends Stores {
  directiveCache: DirectiveCache;
  /** With Redis: the Responses links of turns just served, shared before their checkpoints are written */
  recentResponseLinks?: RecentResponseLinks;
  /** Applies pending migrations of every configured store. */
  migrate(): Promise<MigrationReport[]>;
  migrationStatus(): Promise<MigrationStatusRow[]>;
}

export interface OpenStoresOptions {
  log?: (line: string) => void;
  /** Called when a rate-limit check was let through because Redis could not be asked. */
  onRateLimitFailOpen?: (err: Error) => void;
  /** Called on every budget store call Redis could not answer, with the outage mode applied. */
  onBudgetStoreError?: (err: Error, mode: BudgetOutageMode) => void;
}

interface TraceBackend {
  sink: TraceSink;
  name: string;
  migrate(): Promise<string[]>;
  migrationStatus(): Promise<{ name: string; applied: boolean; appliedAt: number | null }[]>;
  ready(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
  describe(): string;
}

export async function openStores(config: IbexConfig, opts: OpenStoresOptions = {}): Promise<OpenedStores> {
  const log = opts.log ?? (() => {});
  const closers: (() => Promise<void>)[] = [];
  try {
    const relational = await openRelational(config, log);
    closers.push(() => relational.close());

    const traces = await openTraces(config, relational, log);
    if (traces.name !== 'relational') closers.push(() => traces.close());

    const backends = await openBackends(config, opts, log);
    closers.push(() => backends.close());

    const relationalName = config.databaseUrl ? 'postgres' : 'sqlite';
    return {
      agents: relational.agents,
      tokens: relational.tokens,
      revocations: relational.revocations,
      directives: relational.directives,
      sessions: relational.sessions,
      traces: traces.sink,
      rateLimiter: backends.rateLimiter as RateLimiter,
      budgets: backends.budgets,
      bus: backends.bus as Bus,
      directiveCache: backends.directiveCache,
      ...('recentResponseLinks' in backends ? { recentResponseLinks: backends.recentResponseLinks } : {}),
      describe: () => [relational.describe(), traces.describe(), ...backends.describe()],
      async migrate() {
        const reports: MigrationReport[] = [{ store: relationalName, applied: await relational.migrate() }];
        if (traces.name !== 'relational') reports.push({ store: traces.name, applied: await traces.migrate() });
        return reports;
      },
      async migrationStatus() {
        const rows: MigrationStatusRow[] = (await relational.migrationStatus()).map((m) => ({ store: relationalName, ...m }));
        if (traces.name !== 'relational') rows.push(...(await traces.migrationStatus()).map((m) => ({ store: traces.name, ...m })));
        return rows;
      },
      async ready() {
        // Asked together, each bounded on its own: one hanging store is reported as failing, and the
        // others' answers are still there.
        const parts = await Promise.all([
          readyWithin('storage', relational.ready()),
          traces.name !== 'relational' ? readyWithin(traces.name, traces.ready()) : Promise.resolve([]),
          readyWithin(config.redisUrl ? 'redis' : 'memory', backends.ready()),
        ]);
        return parts.flat();
      },
      async close() {
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** How long one store may take to answer a readiness check; /readyz answers within a second overall. */
export const READY_TIMEOUT_MS = 750;

/** A store's readiness checks, or one failing check named `name` when it does not answer in time. */
export function readyWithin(name: string, checks: Promise<ReadinessCheck[]>, ms = READY_TIMEOUT_MS): Promise<ReadinessCheck[]> {
  return withDeadline(checks, ms, name).catch((err: Error) => [{ name, ok: false, detail: failureDetail(err) }]);
}

async function openRelational(config: IbexConfig, log: (line: string) => void): Promise<RelationalStores> {
  if (config.databaseUrl) {
    const { openPostgresStores } = await import('./postgres/index.js');
    return openPostgresStores(config.databaseUrl, { log, traces: !config.clickhouseUrl });
  }
  const { openSqliteStores } = await import('./sqlite/index.js');
  return openSqliteStores(join(config.home, 'ibex.db'), { log });
}

async function openTraces(config: IbexConfig, relational: RelationalStores, log: (line: string) => void): Promise<TraceBackend> {
  if (config.clickhouseUrl) {
    const { openClickHouseTraceSink } = await import('./clickhouse/index.js');
    const { retentionDays, retentionSettings } = await import('../ledger/retention-settings.js');
    const ch = await openClickHouseTraceSink(config.clickhouseUrl, { retentionDays: retentionDays(retentionSettings(config).tracesMs), log });
    return {
      sink: ch,
      name: 'clickhouse',
      migrate: () => ch.migrate(),
      migrationStatus: () => ch.migrationStatus(),
      ready: () => ch.ready(),
      close: () => ch.close(),
      describe: () => ch.describe(),
    };
  }
  return {
    sink: relational.traces,
    name: 'relational',
    migrate: async () => [],
    migrationStatus: async () => [],
    ready: async () => [],
    close: async () => {},
    describe: () => `traces: ${config.databaseUrl ? 'postgres' : 'sqlite'} (relational store)`,
  };
}

async function openBackends(config: IbexConfig, opts: OpenStoresOptions, log: (line: string) => void) {
  if (config.redisUrl) {
    const { openRedisBackends } = await import('./redis/index.js');
    const redis = await openRedisBackends(config.redisUrl, { log, prefix: config.redisPrefix, onFailOpen: opts.onRateLimitFailOpen });
    // Budgets degrade as configured when Redis cannot answer (IBEX_BUDGET_ON_STORE_ERROR).
    const mode = config.budgetOnStoreError ?? 'open';
    const budgets = new OutageTolerantBudgetStore(redis.budgets, { mode, localShare: config.budgetLocalShare, onError: opts.onBudgetStoreError });
    return {
      ...redis,
      budgets: budgets as BudgetStore,
      describe: () => redis.describe().map((l) => (l.startsWith('budgets:') ? `${l} (on store error: ${mode})` : l)),
      close: async () => {
        budgets.close();
        await redis.close();
      },
    };
  }
  const { openMemoryBackends } = await import('./memory/index.js');
  return openMemoryBackends({ onBusError: (err, topic) => log(`bus: handler for ${topic} failed: ${err.message}`) });
}
