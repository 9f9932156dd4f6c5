// One bad item never blocks a queue (issue 11, item 1), against the real stores: SQLite (through the
// embedded writer's worker thread, as `ibex serve` writes it), Postgres and ClickHouse. Each case
// queues poisoned items first, then 300 normal ones, and all 300 must land. Poisoned means either
// text the store would refuse (NUL, a lone surrogate: cleaned by store-text.ts, so it lands too) or
// a value it refuses whatever the text cleaning (isolated by the queue and set aside in dead/).
// Each case runs twice: pushed live, and replayed from a spool left by an earlier process.
//
// Before the fix the store refused the batch holding the poisoned item, the queue retried that
// batch first forever, and none of the 300 ever landed (these tests time out).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { openClickHouseTraceSink, isClickHouseDataError, type ClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { toRow } from '../../src/stores/clickhouse/rows.js';
import { isStoreDataError, markDataError } from '../../src/stores/errors.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import type { CheckpointFields, CheckpointInput, Trace } from '../../src/stores/ports.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { SqliteWriter } from '../../src/stores/sqlite/writer.js';
import { BatchQueue } from '../../src/traces/batch-queue.js';
import { Spool } from '../../src/traces/spool.js';
import { CLICKHOUSE_TEST_URL, describeWithClickHouse, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { makeTrace } from '../helpers/traces.js';

const NORMAL = 300;
/** Text every store refused in some column before the fix: NUL (Postgres), lone surrogates (ClickHouse JSON, Postgres jsonb). */
const BAD_TEXT = 'gpt\u0000-4o\ud800-\udfff';
const CLEANED = 'gpt\uFFFD-4o\uFFFD-\uFFFD';
const LAND_WITHIN_MS = 30_000;

let seq = 0;
const uid = (p: string) => `${p}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function checkpoint(sessionId: string, i: number, over: Partial<CheckpointFields> & { messages?: unknown[] } = {}): CheckpointInput {
  return {
    sessionId,
    agent: 'poison',
    patId: 'pat_1',
    requestId: `${sessionId}-req-${i}`,
    clientRequestId: null,
    model: 'gpt-test',
    directiveVersion: null,
    messages: [{ role: 'user', content: `turn ${i}` }],
    reply: `reply ${i}`,
    finishReason: 'stop',
    usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
    costUsd: null,
    status: 'ok',
    errorCode: null,
    stream: false,
    createdAt: 1_700_000_000_000 + i,
    ...over,
  };
}

function trace(sessionId: string, i: number, over: Partial<Trace> = {}): Trace {
  return makeTrace({ requestId: `${sessionId}-req-${i}`, sessionId, startedAt: 1_700_000_000_000 + i, ...over });
}

async function until(what: () => string, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + LAND_WITHIN_MS;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${LAND_WITHIN_MS} ms waiting for ${what()}`);
    await sleep(100);
  }
}

interface Case<T> {
  name: 'checkpoints' | 'traces';
  write: (batch: T[]) => Promise<void>;
  /** The poisoned items, then the normal ones, of one session */
  items: (sessionId: string) => { poisoned: T[]; normal: T[] };
  /** How many of the session's rows are stored */
  count: (sessionId: string) => Promise<number>;
  /** How many of the poisoned items the store refuses whatever the cleaning */
  refused: number;
  /** Checks on the poisoned items that landed (cleaned text) */
  checkLanded?: (sessionId: string) => Promise<void>;
}

const dirs: string[] = [];
const queues: BatchQueue<unknown>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close(2_000);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Pushes poisoned then normal items (or leaves them in a spool, for `replay`) and waits for all normal ones. */
async function runCase<T>(c: Case<T>, mode: 'live' | 'replay'): Promise<void> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'ibex-poison-'));
  dirs.push(spoolDir);
  const sessionId = uid(`ses-${c.name}-${mode}`);
  const { poisoned, normal } = c.items(sessionId);
  if (mode === 'replay') {
    // As an earlier process leaves it: one file per batch of 50, the poisoned items in the first.
    const spool = new Spool<T>(spoolDir, c.name, 1 << 30);
    await spool.init();
    const all = [...poisoned, ...normal];
    for (let i = 0; i < all.length; i += 50) await spool.append(all.slice(i, i + 50));
  }
  const logs: string[] = [];
  const q = new BatchQueue<T>({
    name: c.name,
    write: c.write,
    spoolDir,
    batchSize: 50,
    maxAgeMs: 5,
    retry: { baseMs: 20, maxMs: 200 },
    log: (level, msg) => logs.push(`${level}: ${msg}`),
  });
  queues.push(q as BatchQueue<unknown>);
  if (mode === 'live') for (const item of [...poisoned, ...normal]) q.push(item);

  const expected = NORMAL + poisoned.length - c.refused;
  await until(
    () => `${expected} ${c.name} of ${sessionId} (queue stats ${JSON.stringify(q.stats())}; last log: ${logs.at(-1)})`,
    async () => (await c.count(sessionId)) >= expected,
  );
  await q.flush();
  expect(await c.count(sessionId)).toBe(expected);
  expect(q.stats()).toMatchObject({ deadLettered: c.refused, dropped: 0, spooledBatches: 0, queued: 0 });
  if (mode === 'replay') expect(q.stats().replayed).toBe(expected);
  const deadDir = join(spoolDir, 'dead');
  const dead = c.refused ? readdirSync(deadDir).flatMap((f) => readFileSync(join(deadDir, f), 'utf8').trim().split('\n')) : [];
  expect(dead).toHaveLength(c.refused);
  for (const line of dead) expect(JSON.parse(line)).toMatchObject({ queue: c.name, error: expect.any(String) });
  await c.checkLanded?.(sessionId);
}

// ---------- SQLite (embedded: the writer worker) ----------

describe('one poisoned item never blocks the queue: SQLite (writer worker)', () => {
  let dir: string;
  let stores: RelationalStores;
  let writer: SqliteWriter;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-poison-sqlite-'));
    stores = await openSqliteStores(join(dir, 'ibex.db'));
    await stores.migrate();
    writer = new SqliteWriter(join(dir, 'ibex.db'));
  });
  afterAll(async () => {
    await writer?.close();
    await stores?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const checkpoints = (): Case<CheckpointInput> => ({
    name: 'checkpoints',
    write: async (b) => void (await writer.appendCheckpoints(b)),
    items: (sid) => ({
      poisoned: [
        checkpoint(sid, 0, { model: BAD_TEXT, messages: [{ role: 'user', content: BAD_TEXT }], reply: BAD_TEXT }),
        checkpoint(sid, 1, { status: null as unknown as 'ok' }), // NOT NULL: refused
      ],
      normal: Array.from({ length: NORMAL }, (_, i) => checkpoint(sid, i + 2)),
    }),
    count: async (sid) => (await stores.sessions.checkpoints(sid)).length,
    refused: 1,
    checkLanded: async (sid) => {
      const [first] = await stores.sessions.checkpoints(sid);
      expect(first).toMatchObject({ requestId: `${sid}-req-0`, model: CLEANED, reply: CLEANED, messages: [{ role: 'user', content: CLEANED }] });
    },
  });
  const traces = (): Case<Trace> => ({
    name: 'traces',
    write: (b) => writer.write(b),
    items: (sid) => ({
      poisoned: [trace(sid, 0, { model: BAD_TEXT }), trace(sid, 1, { requestId: null as unknown as string })],
      normal: Array.from({ length: NORMAL }, (_, i) => trace(sid, i + 2)),
    }),
    count: async (sid) => (await stores.traces.list({ sessionId: sid, limit: 1000 })).length,
    refused: 1,
    checkLanded: async (sid) => {
      const got = await stores.traces.list({ sessionId: sid, limit: 1000 });
      expect(got.find((t) => t.requestId === `${sid}-req-0`)?.model).toBe(CLEANED);
    },
  });

  it('the worker reports a refusal as a data error, an unusable database as availability', async () => {
    const err = await writer.appendCheckpoints([checkpoint(uid('s'), 0, { status: null as unknown as 'ok' })]).catch((e: unknown) => e);
    expect(isStoreDataError(err)).toBe(true);
    expect((err as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    const nowhere = new SqliteWriter(join(dir, 'missing-folder', 'x.db'));
    const down = await nowhere.write([makeTrace()]).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Error);
    expect(isStoreDataError(down)).toBe(false);
    await nowhere.close();
  });

  for (const mode of ['live', 'replay'] as const) {
    it(`checkpoints, ${mode}: ${NORMAL} normal ones land`, () => runCase(checkpoints(), mode), 60_000);
    it(`traces, ${mode}: ${NORMAL} normal ones land`, () => runCase(traces(), mode), 60_000);
  }
});

// ---------- Postgres ----------

describeWithPostgres('one poisoned item never blocks the queue: Postgres', () => {
  let database: TestDatabase;
  let stores: RelationalStores;

  beforeAll(async () => {
    database = await createTestDatabase('poisoned_writes');
    stores = await openPostgresStores(database.url);
    await stores.migrate();
  });
  afterAll(async () => {
    await stores?.close();
    await database?.drop();
  });

  const checkpoints = (): Case<CheckpointInput> => ({
    name: 'checkpoints',
    write: async (b) => void (await stores.sessions.appendCheckpoints(b)),
    items: (sid) => ({
      poisoned: [
        // NUL in model, messages and reply: Postgres text refused the whole batch (22021) before the fix.
        checkpoint(sid, 0, { model: BAD_TEXT, messages: [{ role: 'user', content: BAD_TEXT }], reply: BAD_TEXT, finishReason: BAD_TEXT }),
        // More than an integer column holds (a hostile upstream's usage): refused (22003).
        checkpoint(sid, 1, { usage: { promptTokens: 3e9, completionTokens: 1, totalTokens: 3e9 } }),
      ],
      normal: Array.from({ length: NORMAL }, (_, i) => checkpoint(sid, i + 2)),
    }),
    count: async (sid) => (await stores.sessions.checkpoints(sid)).length,
    refused: 1,
    checkLanded: async (sid) => {
      const [first] = await stores.sessions.checkpoints(sid);
      expect(first).toMatchObject({ model: CLEANED, reply: CLEANED, finishReason: CLEANED, messages: [{ role: 'user', content: CLEANED }] });
      expect(await stores.sessions.getSession(sid)).toMatchObject({ turns: NORMAL + 1 });
    },
  });
  const traces = (): Case<Trace> => ({
    name: 'traces',
    write: (b) => stores.traces.write(b),
    items: (sid) => ({
      poisoned: [trace(sid, 0, { model: BAD_TEXT, errorCode: BAD_TEXT }), trace(sid, 1, { promptTokens: 3e9 })],
      normal: Array.from({ length: NORMAL }, (_, i) => trace(sid, i + 2)),
    }),
    count: async (sid) => (await stores.traces.list({ sessionId: sid, limit: 1000 })).length,
    refused: 1,
    checkLanded: async (sid) => {
      const got = await stores.traces.list({ sessionId: sid, limit: 1000 });
      expect(got.find((t) => t.requestId === `${sid}-req-0`)).toMatchObject({ model: CLEANED, errorCode: CLEANED });
    },
  });

  it('the adapter marks a refusal as a data error; a server that is not there is availability', async () => {
    const err = await stores.traces.write([trace(uid('s'), 0, { promptTokens: 3e9 })]).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22003');
    expect(isStoreDataError(err)).toBe(true);
    const gone = await openPostgresStores('postgres://postgres@127.0.0.1:1/nothing', { connectionTimeoutMs: 1_000 });
    const down = await gone.traces.write([makeTrace()]).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Error);
    expect(isStoreDataError(down)).toBe(false);
    await gone.close();
  });

  for (const mode of ['live', 'replay'] as const) {
    it(`checkpoints, ${mode}: ${NORMAL} normal ones land`, () => runCase(checkpoints(), mode), 60_000);
    it(`traces, ${mode}: ${NORMAL} normal ones land`, () => runCase(traces(), mode), 60_000);
  }
});

// ---------- ClickHouse ----------

describeWithClickHouse('one poisoned item never blocks the queue: ClickHouse', () => {
  let ch: TestClickHouseDatabase;
  let sink: ClickHouseTraceSink;
  const client = createClient({ url: CLICKHOUSE_TEST_URL, log: { level: ClickHouseLogLevel.OFF } });

  beforeAll(async () => {
    ch = testClickHouseDatabase('poisoned_writes');
    sink = await openClickHouseTraceSink(ch.url);
    await sink.migrate();
  });
  afterAll(async () => {
    await sink?.close();
    await client.close();
    await ch?.drop();
  });

  /** Writes like the sink but without its text cleaning: a lone surrogate reaches the server. */
  const uncleaned = async (batch: Trace[]): Promise<void> => {
    try {
      await client.insert({ table: `${ch.name}.traces`, values: batch.map((t) => ({ ...toRow(t), model: t.model })), format: 'JSONEachRow' });
    } catch (err) {
      throw isClickHouseDataError(err) ? markDataError(err) : err;
    }
  };
  const count = async (sid: string) => (await sink.list({ sessionId: sid, limit: 1000 })).length;

  it("the server's refusal of a lone surrogate is classified as a data error", async () => {
    const err = await uncleaned([trace(uid('s'), 0, { model: 'x\ud800' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isClickHouseDataError(err)).toBe(true);
  });

  for (const mode of ['live', 'replay'] as const) {
    it(`traces through the sink, ${mode}: the poisoned one is cleaned, it and ${NORMAL} normal ones land`, () =>
      runCase<Trace>(
        {
          name: 'traces',
          write: (b) => sink.write(b),
          items: (sid) => ({
            poisoned: [trace(sid, 0, { model: BAD_TEXT, sessionId: sid, errorCode: '\udc00' })],
            normal: Array.from({ length: NORMAL }, (_, i) => trace(sid, i + 1)),
          }),
          count,
          refused: 0,
          checkLanded: async (sid) => {
            const got = await sink.list({ sessionId: sid, limit: 1000 });
            expect(got.find((t) => t.requestId === `${sid}-req-0`)).toMatchObject({ model: CLEANED, errorCode: '\uFFFD' });
          },
        },
        mode,
      ), 60_000);

    it(`traces written without cleaning, ${mode}: the queue sets the refused one aside and ${NORMAL} land`, () =>
      runCase<Trace>(
        {
          name: 'traces',
          write: uncleaned,
          items: (sid) => ({
            poisoned: [trace(sid, 0, { model: 'lone \ud800 surrogate' })],
            normal: Array.from({ length: NORMAL }, (_, i) => trace(sid, i + 1)),
          }),
          count,
          refused: 1,
        },
        mode,
      ), 60_000);
  }
});
