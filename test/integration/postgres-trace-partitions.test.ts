// Postgres traces partitioned by UTC day (migration 0012): partitions made ahead, retention dropping
// expired days whole and deleting the default partition's expired rows in batches, a replayed trace
// stored once, and a database holding traces keeping them through the migration.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrationsDir } from '../../src/stores/migrations.js';
import type { Trace } from '../../src/stores/ports.js';
import { PgDb } from '../../src/stores/postgres/db.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import { DAY_MS, ensureTracePartitions, partitionName } from '../../src/stores/postgres/trace-partitions.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import { uid } from '../contracts/relational-harness.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';

const HOUR = 3_600_000;

function trace(startedAt: number, extra: Partial<Trace> = {}): Trace {
  return {
    requestId: uid('req'), clientRequestId: null, sessionId: null, agent: 'parts', patId: 'pat_1', model: 'gpt-test',
    provider: 'openai', stream: false, status: 200, errorCode: null, startedAt, totalMs: 12.5, upstreamTtfbMs: 4.25,
    upstreamMs: 10.5, overheadMs: 2, stages: { auth: 0.125 }, promptTokens: 12, completionTokens: 3, totalTokens: 15,
    cachedTokens: 4, reasoningTokens: 1, costUsd: 0.00125, bytesIn: 100, bytesOut: 200, directiveVersion: 2,
    servedModel: 'gpt-test-2025', attempts: [{ provider: 'other', model: 'm', error: 'upstream_timeout' }],
    policyDecisions: [{ policy: 'pii', phase: 'request', action: 'modify', detail: 'redacted 1 email' }], cacheStatus: 'miss',
    ...extra,
  };
}

async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

const partitions = async (url: string) =>
  (await sql<{ name: string }>(url, `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'traces'::regclass ORDER BY 1`)).map((r) => r.name);

/** The partition each request's row is in (absent: no row). */
async function placement(url: string, ids: string[]): Promise<Record<string, string>> {
  const rows = await sql<{ id: string; p: string }>(url, 'SELECT request_id AS id, tableoid::regclass::text AS p FROM traces WHERE request_id = ANY($1)', [ids]);
  return Object.fromEntries(rows.map((r) => [r.id, r.p]));
}

describeWithPostgres('postgres: traces partitioned by day', () => {
  let database: TestDatabase;
  let stores: RelationalStores;
  let db: PgDb;
  const logs: string[] = [];
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;

  beforeAll(async () => {
    database = await createTestDatabase('partitions');
    stores = await openPostgresStores(database.url, { log: (l) => logs.push(l) });
    await stores.migrate();
    db = new PgDb(database.url, {}, (l) => logs.push(l));
  });
  afterAll(async () => {
    await stores?.close();
    await db?.close();
    await database?.drop();
  });

  it('migrating makes the partitions of today and the next 2 UTC days, and the default', async () => {
    const names = await partitions(database.url);
    expect(names).toEqual(expect.arrayContaining([0, 1, 2].map((d) => partitionName(today + d * DAY_MS)).concat('traces_default')));
    expect(partitionName(Date.UTC(2025, 0, 31, 23, 59))).toBe('traces_p20250131');
    // Making them again changes nothing (the gateway does it after every migrate and retention run).
    expect(await ensureTracePartitions(db)).toEqual([]);
  });

  it('prune drops expired days whole and deletes the default partition\'s expired rows; a dry run only counts', async () => {
    // Partitions for 10, 9 and 8 days ago, as a gateway running then would have made them.
    expect(await ensureTracePartitions(db, today - 10 * DAY_MS)).toEqual([10, 9, 8].map((d) => partitionName(today - d * DAY_MS)));
    const day10 = [trace(today - 10 * DAY_MS + HOUR), trace(today - 10 * DAY_MS + 2 * HOUR)];
    const day9 = [trace(today - 9 * DAY_MS + 5 * HOUR)];
    const day8 = trace(today - 8 * DAY_MS + HOUR); // older than the cutoff, in the day straddling it
    const inDefault = [1, 2, 3].map((h) => trace(today - 20 * DAY_MS + h * HOUR)); // a day without a partition
    const future = trace(today + 30 * DAY_MS); // default too, not expired
    const recent = trace(Date.now());
    const all = [...day10, ...day9, day8, ...inDefault, future, recent];
    await stores.traces.write(all);
    const ids = all.map((t) => t.requestId);
    const before = await placement(database.url, ids);
    expect(before[day10[0]!.requestId]).toBe(partitionName(today - 10 * DAY_MS));
    expect(before[day9[0]!.requestId]).toBe(partitionName(today - 9 * DAY_MS));
    expect(inDefault.map((t) => before[t.requestId])).toEqual(['traces_default', 'traces_default', 'traces_default']);
    expect(before[future.requestId]).toBe('traces_default');
    expect(before[recent.requestId]).toBe(partitionName(today));

    const cutoff = { tracesBefore: today - 8 * DAY_MS + 12 * HOUR };
    const dry = await stores.sessions.prune({ ...cutoff, dryRun: true });
    expect(dry.traces).toBe(day10.length + day9.length + inDefault.length);
    expect(await placement(database.url, ids)).toEqual(before);
    expect(await partitions(database.url)).toContain(partitionName(today - 10 * DAY_MS));

    const real = await stores.sessions.prune({ ...cutoff, batchSize: 2, pauseMs: 0 });
    expect(real.traces).toBe(dry.traces);
    const names = await partitions(database.url);
    expect(names).not.toContain(partitionName(today - 10 * DAY_MS));
    expect(names).not.toContain(partitionName(today - 9 * DAY_MS));
    // The straddling day stays whole until all of it has expired (retention is by whole days).
    expect(names).toContain(partitionName(today - 8 * DAY_MS));
    expect(await placement(database.url, ids)).toEqual({
      [day8.requestId]: partitionName(today - 8 * DAY_MS),
      [future.requestId]: 'traces_default',
      [recent.requestId]: partitionName(today),
    });
    expect(await stores.sessions.prune({ ...cutoff, dryRun: true })).toEqual({ traces: 0 });

    // A day later the straddling partition has fully expired and goes too.
    expect((await stores.sessions.prune({ tracesBefore: today - 7 * DAY_MS, pauseMs: 0 })).traces).toBe(1);
    expect(await partitions(database.url)).not.toContain(partitionName(today - 8 * DAY_MS));
    expect(Object.keys(await placement(database.url, ids)).sort()).toEqual([future.requestId, recent.requestId].sort());
  });

  it('a replayed trace is stored once, in a day partition and in the default', async () => {
    const inDay = trace(Date.now());
    const inDefault = trace(today - 40 * DAY_MS);
    await stores.traces.write([inDay, inDefault]);
    await stores.traces.write([inDay, { ...inDefault, status: 500 }, inDay]);
    const rows = await sql<{ id: string; n: string; status: number }>(
      database.url,
      'SELECT request_id AS id, COUNT(*) AS n, MIN(status) AS status FROM traces WHERE request_id = ANY($1) GROUP BY request_id ORDER BY 1',
      [[inDay.requestId, inDefault.requestId]],
    );
    expect(rows.map((r) => [r.id, Number(r.n), r.status]).sort()).toEqual(
      [[inDay.requestId, 1, 200], [inDefault.requestId, 1, 200]].sort(),
    );
  });

  it('a day whose rows are already in the default gets no partition (logged); racing replicas make each once', async () => {
    const early = trace(today + 50 * DAY_MS + HOUR); // no partition that far ahead: the default takes it
    await stores.traces.write([early]);
    logs.length = 0;
    expect(await ensureTracePartitions(db, today + 50 * DAY_MS, 0)).toEqual([]);
    expect(logs.join('\n')).toMatch(/traces_default holds rows of \d{8}, so that day gets no partition/);
    expect(await partitions(database.url)).not.toContain(partitionName(today + 50 * DAY_MS));
    expect(await placement(database.url, [early.requestId])).toEqual({ [early.requestId]: 'traces_default' });

    const other = new PgDb(database.url, {}, (l) => logs.push(l));
    try {
      logs.length = 0;
      const at = today + 60 * DAY_MS;
      const [a, b] = await Promise.all([ensureTracePartitions(db, at), ensureTracePartitions(other, at)]);
      expect(logs).toEqual([]);
      expect([...a, ...b].length).toBeGreaterThanOrEqual(3); // each day made by one of them (or by both, IF NOT EXISTS)
      expect(await partitions(database.url)).toEqual(expect.arrayContaining([0, 1, 2].map((d) => partitionName(at + d * DAY_MS))));
    } finally {
      await other.close();
    }
  });
});

describeWithPostgres('postgres: migrating traces to day partitions', () => {
  it('a database holding traces (up to 0011) keeps every row and column, each in its day\'s partition', async () => {
    const database = await createTestDatabase('partition_migration');
    const dir = mkdtempSync(join(tmpdir(), 'ibex-pg-0011-'));
    try {
      const src = migrationsDir('postgres');
      const upTo11 = loadMigrations(src).filter((m) => m.name < '0012');
      expect(upTo11.at(-1)?.name).toBe('0011_policy_decisions');
      for (const m of upTo11) copyFileSync(join(src, `${m.name}.sql`), join(dir, `${m.name}.sql`));
      const old = await openPostgresStores(database.url, { migrationsDir: dir });
      const now = Date.now();
      const today = Math.floor(now / DAY_MS) * DAY_MS;
      const rows = [
        trace(today - 3 * DAY_MS + HOUR, { clientRequestId: 'client-1', sessionId: 's1' }),
        trace(today - 3 * DAY_MS + 5 * HOUR, { attempts: null, policyDecisions: null, cacheStatus: null, costUsd: null }),
        trace(today - 400 * DAY_MS, { stream: true, status: 502, errorCode: 'upstream_error' }),
        trace(now),
      ];
      let before: Trace[];
      try {
        expect(await old.migrate()).toHaveLength(upTo11.length);
        expect((await sql<{ k: string }>(database.url, "SELECT relkind::text AS k FROM pg_class WHERE relname = 'traces'"))[0]?.k).toBe('r');
        await old.traces.write(rows);
        before = await old.traces.list({ agent: 'parts', limit: 100 });
        expect(before).toHaveLength(rows.length);
      } finally {
        await old.close();
      }

      const stores = await openPostgresStores(database.url);
      try {
        expect(await stores.migrate()).toEqual(['0012_traces_partitioned', '0013_response_links']);
        expect(await stores.traces.list({ agent: 'parts', limit: 100 })).toEqual(before);
        expect(await placement(database.url, rows.map((t) => t.requestId))).toEqual(
          Object.fromEntries(rows.map((t) => [t.requestId, partitionName(t.startedAt)])),
        );
        expect(await partitions(database.url)).toEqual(
          [...new Set([...rows.map((t) => partitionName(t.startedAt)), ...[1, 2].map((d) => partitionName(today + d * DAY_MS))])]
            .concat('traces_default')
            .sort(),
        );
        expect(await sql(database.url, "SELECT 1 FROM pg_tables WHERE tablename = 'traces_unpartitioned'")).toEqual([]);
        // Every index kept, under its name; the identity still refuses a replay.
        const indexes = await sql<{ name: string }>(database.url, "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'traces' ORDER BY 1");
        expect(indexes.map((i) => i.name)).toEqual(['traces_agent_started', 'traces_client_request', 'traces_pkey', 'traces_session_started', 'traces_started']);
        await stores.traces.write([rows[0]!, rows[2]!]);
        expect(await stores.traces.list({ agent: 'parts', limit: 100 })).toEqual(before);
        expect(await stores.traces.list({ requestId: 'client-1' })).toEqual([before.find((t) => t.clientRequestId === 'client-1')]);
      } finally {
        await stores.close();
      }
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('trace partition names', () => {
  it('name the UTC day', () => {
    expect(partitionName(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('traces_p20261231');
    expect(partitionName(Date.UTC(2027, 0, 1))).toBe('traces_p20270101');
  });
});
