// The ClickHouse trace sink against the real server `.ci/clickhouse.sh` starts (Debian's 18.16 in
// CI): migrations with version variants, writes and filtered lists, dedupe of replayed batches,
// retention, and the emitter end to end within the 500 ms bound.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouseTraceSink, type ClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { loadMigrations, migrationsDir } from '../../src/stores/migrations.js';
import type { Trace, TraceFilter } from '../../src/stores/ports.js';
import { TraceEmitter } from '../../src/traces/emitter.js';
import {
  clickhouseExec,
  describeWithClickHouse,
  makeTrace,
  testClickHouseDatabase,
  type TestClickHouseDatabase,
} from '../helpers/clickhouse.js';

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('clickhouse: offline behaviour', () => {
  it('ships the clickhouse migrations', () => {
    expect(loadMigrations(migrationsDir('clickhouse')).map((m) => m.name)).toEqual(['0001_traces', '0002_client_request_id', '0003_usage_cost', '0005_served_model_attempts', '0006_policy_decisions']);
  });

  it('describes itself without credentials, and opening does not connect', async () => {
    const sink = await openClickHouseTraceSink('http://ibex:s3cret@ch.internal:8123/ibex_traces');
    expect(sink.describe()).toBe('traces: clickhouse http://ch.internal:8123/ibex_traces');
    await sink.close();
    const dflt = await openClickHouseTraceSink('http://ch.internal:8123');
    expect(dflt.describe()).toBe('traces: clickhouse http://ch.internal:8123/default');
    await dflt.close();
  });

  it('rejects a database name that is not a plain identifier', async () => {
    await expect(openClickHouseTraceSink('http://127.0.0.1:8123/x;DROP')).rejects.toThrow(/invalid database name/);
  });

  it('a server that is down: write rejects, ready() says so, the emitter spools instead of losing', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const sink = await openClickHouseTraceSink(`http://127.0.0.1:${port}/nothing`, { requestTimeoutMs: 2_000 });
    const spoolDir = mkdtempSync(join(tmpdir(), 'ibex-ch-down-'));
    try {
      await expect(sink.write([makeTrace()])).rejects.toThrow(/ECONNREFUSED/);
      const [check] = await sink.ready();
      expect(check).toMatchObject({ name: 'clickhouse', ok: false });
      expect(check!.detail).toMatch(/ECONNREFUSED/);
      const emitter = new TraceEmitter({ sink, spoolDir });
      emitter.emit(makeTrace());
      await emitter.close(2_000);
      expect(emitter.stats()).toMatchObject({ dropped: 0, queued: 0 });
      expect(readdirSync(spoolDir).filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);
    } finally {
      await sink.close();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});

describeWithClickHouse('clickhouse: trace sink', () => {
  let db: TestClickHouseDatabase;
  let sink: ClickHouseTraceSink;
  let serverVersion: string;
  const logs: string[] = [];

  beforeAll(async () => {
    db = testClickHouseDatabase('traces');
    serverVersion = (await clickhouseExec('SELECT version()')).trim();
    sink = await openClickHouseTraceSink(db.url, { retentionDays: 30, log: (l) => logs.push(l), retentionIntervalMs: 3_600_000 });
  });

  afterAll(async () => {
    await sink?.close();
    await db?.drop();
  });

  it('before migrate: not ready, and every migration pending', async () => {
    const [check] = await sink.ready();
    expect(check).toMatchObject({ name: 'clickhouse', ok: false });
    expect(await sink.migrationStatus()).toEqual([
      { name: '0001_traces', applied: false, appliedAt: null },
      { name: '0002_client_request_id', applied: false, appliedAt: null },
      { name: '0003_usage_cost', applied: false, appliedAt: null },
      { name: '0005_served_model_attempts', applied: false, appliedAt: null },
      { name: '0006_policy_decisions', applied: false, appliedAt: null },
    ]);
  });

  it(`migrate creates the database and applies the variant this server supports`, async () => {
    const before = Date.now();
    expect(await sink.migrate()).toEqual(['0001_traces', '0002_client_request_id', '0003_usage_cost', '0005_served_model_attempts', '0006_policy_decisions']);
    expect(await sink.migrate()).toEqual([]); // idempotent
    const status = await sink.migrationStatus();
    expect(status).toHaveLength(5);
    expect(status[0]).toMatchObject({ name: '0001_traces', applied: true });
    expect(status[0]!.appliedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    const [major, minor] = serverVersion.split('.').map(Number) as [number, number];
    const expected = major > 20 || (major === 20 && minor >= 3) ? 'requires 20.3' : 'base';
    expect((await sink.appliedVariants()).get('0001_traces')).toBe(expected);
    expect((await sink.appliedVariants()).get('0002_client_request_id')).toBe(expected);
    expect((await sink.appliedVariants()).get('0005_served_model_attempts')).toBe(expected);
    expect((await sink.appliedVariants()).get('0003_usage_cost')).toBe(expected);
    expect((await sink.appliedVariants()).get('0006_policy_decisions')).toBe(expected);
    const engine = await clickhouseExec(`SELECT engine FROM system.tables WHERE database = '${db.name}' AND name = 'traces'`);
    expect(engine.trim()).toBe('ReplacingMergeTree');
    expect(await sink.ready()).toEqual([{ name: 'clickhouse', ok: true }]);
    expect(logs.some((l) => /migration 0001_traces applied/.test(l))).toBe(true);
  });

  it('round-trips every field, nulls included', async () => {
    const full = makeTrace({
      requestId: 'rt_full',
      clientRequestId: 'caller-rt',
      sessionId: 'sess_rt',
      stream: true,
      status: 502,
      errorCode: 'upstream_error',
      servedModel: 'gpt-4o-mini',
      attempts: [{ provider: 'primary', model: 'gpt-4o', error: 'upstream_timeout' }],
      policyDecisions: [{ policy: 'deny-patterns', phase: 'request', action: 'reject', detail: 'matched pattern #1' }],
      cacheStatus: 'miss',
    });
    const sparse = makeTrace({
      requestId: 'rt_sparse',
      sessionId: null,
      agent: null,
      patId: null,
      model: null,
      provider: null,
      upstreamTtfbMs: null,
      upstreamMs: null,
      promptTokens: null,
      completionTokens: null,
      totalTokens: null,
      directiveVersion: null,
      servedModel: null,
      stages: {},
      startedAt: full.startedAt - 1,
    });
    await sink.write([full, sparse]);
    const got = await sink.list({ limit: 1000 });
    expect(got.find((t) => t.requestId === 'rt_full')).toEqual(full);
    expect(got.find((t) => t.requestId === 'rt_sparse')).toEqual(sparse);
  });

  it('lists most recent first, filtered by agent and session, limited', async () => {
    const t0 = Date.now() - 10_000;
    const batch = [
      makeTrace({ requestId: 'f1', agent: 'alpha', sessionId: 's1', startedAt: t0 + 1 }),
      makeTrace({ requestId: 'f2', agent: 'beta', sessionId: 's2', startedAt: t0 + 2 }),
      makeTrace({ requestId: 'f3', agent: 'alpha', sessionId: 's1', startedAt: t0 + 3 }),
      makeTrace({ requestId: 'f4', agent: "o'quote\\", sessionId: 's3', startedAt: t0 + 4 }),
    ];
    await sink.write(batch);
    expect((await sink.list({ agent: 'alpha' })).map((t) => t.requestId)).toEqual(['f3', 'f1']);
    expect((await sink.list({ sessionId: 's2' })).map((t) => t.requestId)).toEqual(['f2']);
    expect((await sink.list({ agent: 'alpha', sessionId: 's1', limit: 1 })).map((t) => t.requestId)).toEqual(['f3']);
    expect((await sink.list({ agent: "o'quote\\" })).map((t) => t.requestId)).toEqual(['f4']);
    expect(await sink.list({ agent: 'nobody' })).toEqual([]);
    const all = await sink.list({ limit: 1000 });
    const times = all.map((t) => t.startedAt);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('a replayed batch is stored once', async () => {
    const batch = [0, 1, 2].map((i) => makeTrace({ requestId: `dup_${i}`, agent: 'dedupe', startedAt: Date.now() - 5_000 + i }));
    await sink.write(batch);
    await sink.write(batch); // the emitter replays a batch whose ack was lost
    const listed = await sink.list({ agent: 'dedupe' });
    expect(listed.map((t) => t.requestId)).toEqual(['dup_2', 'dup_1', 'dup_0']);
    // After a merge the duplicates are gone from storage too, not only hidden by the query.
    await clickhouseExec(`OPTIMIZE TABLE ${db.name}.traces FINAL`);
    const count = await clickhouseExec(`SELECT count() FROM ${db.name}.traces WHERE agent = 'dedupe'`);
    expect(Number(count.trim())).toBe(3);
  });

  it('retention: TTL on servers that have it, else old daily partitions are dropped', async () => {
    const now = Date.now();
    const old = makeTrace({ requestId: 'old', agent: 'ret', startedAt: now - 45 * DAY });
    const edge = makeTrace({ requestId: 'edge', agent: 'ret', startedAt: now - 29 * DAY });
    const fresh = makeTrace({ requestId: 'fresh', agent: 'ret', startedAt: now });
    await sink.write([old, edge, fresh]);
    const result = await sink.enforceRetention(now);
    const [major, minor] = serverVersion.split('.').map(Number) as [number, number];
    if (major > 19 || (major === 19 && minor >= 6)) {
      expect(result.mode).toBe('ttl');
      expect(result.statements).toEqual([`ALTER TABLE \`${db.name}\`.traces MODIFY TTL started_at + toIntervalDay(30)`]);
      expect((await sink.enforceRetention(now)).statements).toEqual([]); // already current
    } else {
      const day = new Date(now - 45 * DAY).toISOString().slice(0, 10).replaceAll('-', '');
      expect(result.mode).toBe('drop-partitions');
      expect(result.statements).toEqual([`ALTER TABLE \`${db.name}\`.traces DROP PARTITION ${day}`]);
      expect((await sink.list({ agent: 'ret' })).map((t) => t.requestId)).toEqual(['fresh', 'edge']);
      expect((await sink.enforceRetention(now)).statements).toEqual([]); // nothing left to drop
    }
  });

  it('the emitter stores a trace within 500 ms of emit, with ClickHouse as the sink', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'ibex-ch-emit-'));
    // "Stored" = ClickHouse acknowledged the insert; the list below proves it is queryable.
    const sentAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const timed = {
      write: async (batch: Trace[]) => {
        for (const t of batch) sentAt.set(t.requestId, Date.now());
        await sink.write(batch);
        for (const t of batch) ackedAt.set(t.requestId, Date.now());
      },
      list: (f?: TraceFilter) => sink.list(f),
    };
    const emitter = new TraceEmitter({ sink: timed, spoolDir });
    try {
      const latencies: number[] = [];
      const queueDelays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const trace = makeTrace({ requestId: `e2e_${i}`, agent: 'e2e' });
        const t0 = Date.now();
        emitter.emit(trace);
        // Wait for the ack without querying ClickHouse meanwhile (polling it would slow the insert).
        while (!ackedAt.has(trace.requestId)) {
          if (Date.now() - t0 > 3_000) throw new Error(`trace ${trace.requestId} not stored after 3 s`);
          await sleep(2);
        }
        latencies.push(ackedAt.get(trace.requestId)! - t0);
        queueDelays.push(sentAt.get(trace.requestId)! - t0);
        const found = await sink.list({ agent: 'e2e', limit: 10 });
        expect(found.map((t) => t.requestId)).toContain(trace.requestId);
      }
      // The emitter's own share (emit → insert sent) is bounded by maxAgeMs (50) plus scheduling;
      // the insert itself is ClickHouse's (≈ 15–150 ms on 18.16 here, more on a saturated machine),
      // so the 500 ms bound is checked on the median and outliers only get a looser ceiling.
      const sorted = [...latencies].sort((a, b) => a - b);
      const detail = `emit → stored, ms: ${latencies.join(', ')}; emit → sent: ${queueDelays.join(', ')}`;
      expect(Math.max(...queueDelays), detail).toBeLessThan(200);
      expect(sorted[2], detail).toBeLessThan(500);
      expect(sorted[4], detail).toBeLessThan(1_500);
      expect(emitter.stats()).toMatchObject({ written: 5, failures: 0, dropped: 0 });
    } finally {
      await emitter.close();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  it('traces spooled while ClickHouse was unreachable are replayed into it by the next process', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'ibex-ch-replay-'));
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const deadSink = await openClickHouseTraceSink(`http://127.0.0.1:${port}/${db.name}`, { requestTimeoutMs: 2_000 });
    const traces = [0, 1, 2, 3].map((i) => makeTrace({ requestId: `replay_${i}`, agent: 'replay', startedAt: Date.now() + i }));
    try {
      const down = new TraceEmitter({ sink: deadSink, spoolDir });
      for (const t of traces) down.emit(t);
      await down.close(2_000);
      expect(down.stats().written).toBe(0);
      expect(down.stats().spooledBatches).toBeGreaterThan(0);

      const up = new TraceEmitter({ sink, spoolDir });
      await up.flush();
      expect(up.stats().replayed).toBe(4);
      expect((await sink.list({ agent: 'replay' })).map((t) => t.requestId)).toEqual(['replay_3', 'replay_2', 'replay_1', 'replay_0']);
      expect(readdirSync(spoolDir).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
      await up.close();
    } finally {
      await deadSink.close();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
