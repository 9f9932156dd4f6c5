// BatchQueue under fault injection: a fake sink whose failures, hangs and lost acks the test
// controls, and a real spool folder on disk.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreDataError } from '../../src/stores/errors.js';
import { BatchQueue, type BatchQueueOptions } from '../../src/traces/batch-queue.js';

interface Item {
  id: number;
  pushedAt?: number;
}

/** A sink that dedupes by id like the real ones, and records every raw write. */
class FakeSink {
  /** Items in the order the sink accepted them (after dedupe) */
  stored: Item[] = [];
  storedAt = new Map<number, number>();
  /** Every item of every write that did not throw, duplicates included */
  raw: number[] = [];
  batchSizes: number[] = [];
  calls = 0;
  failing = false;
  /** Write then throw: the store has the batch but the queue never hears of it */
  loseAckNext = 0;
  /** Reject the next N writes after `delayMs` */
  failNext = 0;
  delayMs = 0;
  hang = false;
  /** Ids the store refuses for their data: a batch holding one is refused whole, like Postgres does */
  refuse = new Set<number>();
  /** Writes refused for their data */
  refusals = 0;
  private readonly seen = new Set<number>();

  write = async (batch: Item[]): Promise<void> => {
    this.calls++;
    if (this.hang) return new Promise<void>(() => undefined);
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failing) throw new Error('sink down (injected)');
    const bad = batch.find((i) => this.refuse.has(i.id));
    if (bad) {
      this.refusals++;
      throw new StoreDataError(`invalid value in item ${bad.id} (injected)`, { code: '22021' });
    }
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('sink failed (injected)');
    }
    this.batchSizes.push(batch.length);
    for (const item of batch) {
      this.raw.push(item.id);
      if (this.seen.has(item.id)) continue;
      this.seen.add(item.id);
      this.stored.push(item);
      this.storedAt.set(item.id, Date.now());
    }
    if (this.loseAckNext > 0) {
      this.loseAckNext--;
      throw new Error('ack lost (injected)');
    }
  };

  ids(): number[] {
    return this.stored.map((i) => i.id);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

const dirs: string[] = [];
const queues: BatchQueue<Item>[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ibex-bq-'));
  dirs.push(d);
  return d;
}

function spoolFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
  } catch {
    return [];
  }
}

function makeQueue(sink: FakeSink, opts: Partial<BatchQueueOptions<Item>> = {}, logs?: Array<[string, string]>): BatchQueue<Item> {
  const q = new BatchQueue<Item>({
    name: 'test',
    write: sink.write,
    retry: { baseMs: 10, maxMs: 40 },
    log: (level, msg) => logs?.push([level, msg]),
    ...opts,
  });
  queues.push(q);
  return q;
}

afterEach(async () => {
  for (const q of queues.splice(0)) await q.close(200);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('BatchQueue batching', () => {
  it('closes a batch when it reaches batchSize, and the rest on flush', async () => {
    const sink = new FakeSink();
    const q = makeQueue(sink, { batchSize: 10, maxAgeMs: 60_000, maxWriteItems: 10 });
    for (const id of range(25)) q.push({ id });
    await waitFor(() => sink.stored.length === 20, 2_000, 'two full batches');
    await sleep(50);
    expect(sink.batchSizes).toEqual([10, 10]);
    expect(q.stats().queued).toBe(5);
    await q.flush();
    expect(sink.batchSizes).toEqual([10, 10, 5]);
    expect(sink.ids()).toEqual(range(25));
    expect(q.stats()).toMatchObject({ queued: 0, inflight: 0, written: 25, failures: 0, dropped: 0 });
  });

  it('writes a backlog in fewer, larger writes (up to maxWriteItems), in order', async () => {
    const sink = new FakeSink();
    sink.delayMs = 40; // a store with a large fixed cost per insert
    const q = makeQueue(sink, { batchSize: 10, maxAgeMs: 1, maxWriteItems: 50 });
    for (const id of range(10)) q.push({ id });
    await waitFor(() => q.stats().inflight === 10, 1_000, 'the first write');
    for (const id of range(90, 10)) q.push({ id }); // piles up while the first write is slow
    await waitFor(() => sink.stored.length === 100, 3_000, 'all items');
    expect(sink.batchSizes).toEqual([10, 50, 40]);
    expect(sink.ids()).toEqual(range(100));
  });

  it('by default never writes more than batchSize items at once, even with a backlog', async () => {
    const sink = new FakeSink();
    sink.delayMs = 20;
    const q = makeQueue(sink, { batchSize: 10, maxAgeMs: 1 });
    for (const id of range(95)) q.push({ id });
    await q.flush();
    expect(sink.batchSizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(sink.ids()).toEqual(range(95));
  });

  it('closes a batch when its first item is maxAgeMs old', async () => {
    const sink = new FakeSink();
    const q = makeQueue(sink, { batchSize: 1_000, maxAgeMs: 40 });
    q.push({ id: 1 });
    q.push({ id: 2 });
    q.push({ id: 3 });
    await sleep(15);
    expect(sink.calls).toBe(0);
    await waitFor(() => sink.stored.length === 3, 1_000, 'the aged batch');
    expect(sink.batchSizes).toEqual([3]);
  });

  it('stores every item within 500 ms of push with the default options and a healthy sink', async () => {
    const sink = new FakeSink();
    sink.delayMs = 5; // a store that takes a little time per insert
    const q = makeQueue(sink, { retry: undefined });
    const pushedAt = new Map<number, number>();
    for (const id of range(60)) {
      pushedAt.set(id, Date.now());
      q.push({ id });
      if (id % 3 === 0) await sleep(7);
    }
    await waitFor(() => sink.stored.length === 60, 2_000, 'all items stored');
    const latencies = range(60).map((id) => sink.storedAt.get(id)! - pushedAt.get(id)!);
    expect(Math.max(...latencies)).toBeLessThan(500);
  });

  it('push is synchronous and cheap: 100k pushes do not wait for the sink', () => {
    const sink = new FakeSink();
    sink.hang = true; // a sink that never answers must not slow push down
    const q = makeQueue(sink, { maxQueue: 200_000 });
    const t0 = performance.now();
    for (const id of range(100_000)) q.push({ id });
    const ms = performance.now() - t0;
    expect(q.stats().queued + q.stats().inflight).toBe(100_000);
    expect(ms).toBeLessThan(1_000);
  });
});

describe('BatchQueue with a failing sink', () => {
  it('spools while the sink is down, keeps memory bounded, then replays everything once, in order', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    const logs: Array<[string, string]> = [];
    // maxQueue well above one burst of 25, so a slow disk on a busy machine never forces a drop.
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 10, maxQueue: 150, maxAgeMs: 5 }, logs);
    sink.failing = true;
    let maxInMemory = 0;
    for (const id of range(500)) {
      q.push({ id });
      maxInMemory = Math.max(maxInMemory, q.stats().queued);
      if (id % 25 === 24) await sleep(5);
    }
    await waitFor(() => q.stats().queued === 0, 5_000, 'memory to drain to the spool');
    // Let the last spill finish (its file is written before the queue counts it: on a busy machine
    // 50 ms was not always enough, and the count read one short of the files).
    await waitFor(() => spoolFiles(dir).length === q.stats().spooledBatches, 5_000, 'the last spill to be counted');
    await sleep(50);
    const down = q.stats();
    expect(down.failures).toBeGreaterThan(0);
    expect(down.spooledBatches).toBeGreaterThan(1);
    expect(spoolFiles(dir).length).toBe(down.spooledBatches);
    const lines = spoolFiles(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'));
    expect(lines.map((l) => (JSON.parse(l) as Item).id).sort((a, b) => a - b)).toEqual(range(500)); // all on disk
    expect(down.spoolBytes).toBe(spoolFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0));
    expect(maxInMemory).toBeLessThanOrEqual(300); // 2 × maxQueue at the very worst
    expect(maxInMemory).toBeLessThan(500); // the outage did not keep everything in memory
    expect(down.written).toBe(0);
    expect(down.dropped).toBe(0);
    // Spool files are private.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of spoolFiles(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(logs.some(([level, msg]) => level === 'warn' && /write failed/.test(msg))).toBe(true);

    sink.failing = false;
    await waitFor(() => sink.stored.length === 500, 5_000, 'replay after recovery');
    await q.flush();
    expect(sink.ids()).toEqual(range(500)); // order kept
    expect(sink.raw).toEqual(range(500)); // no duplicate writes either
    const up = q.stats();
    expect(up).toMatchObject({ written: 500, queued: 0, spooledBatches: 0, spoolBytes: 0, dropped: 0 });
    expect(up.replayed).toBeGreaterThan(0);
    expect(spoolFiles(dir)).toEqual([]);
    expect(logs.some(([level, msg]) => level === 'info' && /recovered/.test(msg))).toBe(true);
  });

  it('keeps order when the batch in flight fails after newer batches were already spilled', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    let releaseFirst: (() => void) | undefined;
    let calls = 0;
    const q = makeQueue(sink, {
      spoolDir: dir,
      batchSize: 5,
      maxQueue: 20,
      maxAgeMs: 1,
      write: async (batch) => {
        if (++calls === 1) {
          // The first write hangs until the test has seen newer batches spilled, then fails.
          await new Promise<void>((r) => (releaseFirst = r));
          throw new Error('first write fails (injected)');
        }
        await sink.write(batch);
      },
    });
    q.push({ id: 0 });
    await waitFor(() => q.stats().inflight === 1, 1_000, 'batch [0] in flight');
    for (const id of range(35, 1)) q.push({ id }); // over maxQueue: spilled while [0] is in flight
    await waitFor(() => q.stats().spooledBatches > 0, 2_000, 'newer batches spilled');
    expect(sink.stored.length).toBe(0);
    releaseFirst!();
    await waitFor(() => sink.stored.length === 36, 5_000, 'all items');
    expect(sink.ids()).toEqual(range(36));
    expect(q.stats()).toMatchObject({ failures: 1, dropped: 0 });
  });

  it('replays a batch whose ack was lost; the sink dedupes it', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.loseAckNext = 1;
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 4, maxAgeMs: 1 });
    for (const id of range(8)) q.push({ id });
    await waitFor(() => sink.raw.length >= 12 && q.stats().spooledBatches === 0 && q.stats().queued === 0, 3_000, 'replay');
    await q.flush();
    expect(sink.ids()).toEqual(range(8));
    // The first batch reached the store twice: once unacknowledged, once replayed.
    expect(sink.raw.filter((id) => id === 0).length).toBe(2);
    expect(q.stats().failures).toBe(1);
  });

  it('flush with the sink down resolves, with everything on disk', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.failing = true;
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 50, maxAgeMs: 60_000, retry: { baseMs: 60_000, maxMs: 60_000 } });
    for (const id of range(30)) q.push({ id });
    await q.flush();
    expect(q.stats()).toMatchObject({ queued: 0, inflight: 0, written: 0, dropped: 0 });
    expect(q.stats().spooledBatches).toBe(1);
    // A later flush tries again at once despite the long backoff, and replays.
    sink.failing = false;
    await q.flush();
    expect(sink.ids()).toEqual(range(30));
    expect(q.stats().spooledBatches).toBe(0);
  });
});

describe('BatchQueue close and restart', () => {
  it('close() with the sink down spools everything; a new queue on the same folder replays it in order', async () => {
    const dir = tempDir();
    const down = new FakeSink();
    down.failing = true;
    const first = makeQueue(down, { spoolDir: dir, batchSize: 10, maxAgeMs: 60_000 });
    for (const id of range(37)) first.push({ id });
    await first.close(1_000);
    const closed = first.stats();
    expect(closed.queued).toBe(0);
    expect(closed.dropped).toBe(0);
    expect(closed.spooledBatches).toBeGreaterThanOrEqual(1);
    expect(spoolFiles(dir).length).toBe(closed.spooledBatches);

    // Pushed after close: spooled synchronously, not lost.
    first.push({ id: 37 });
    expect(spoolFiles(dir).length).toBe(closed.spooledBatches + 1);

    const up = new FakeSink();
    const second = makeQueue(up, { spoolDir: dir, batchSize: 10, maxAgeMs: 5 });
    second.push({ id: 38 }); // new items wait behind the old spool
    await waitFor(() => up.stored.length === 39, 3_000, 'replay of the earlier spool');
    expect(up.ids()).toEqual(range(39));
    expect(second.stats().replayed).toBe(38);
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('close() does not wait forever for a hanging sink: the in-flight batch is spooled too', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.hang = true;
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 5, maxAgeMs: 1 });
    for (const id of range(12)) q.push({ id });
    await waitFor(() => q.stats().inflight > 0, 1_000, 'a write in flight');
    const t0 = Date.now();
    await q.close(100);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(q.stats().queued).toBe(0);
    expect(q.stats().dropped).toBe(0);

    const up = new FakeSink();
    makeQueue(up, { spoolDir: dir });
    await waitFor(() => up.stored.length === 12, 3_000, 'replay');
    expect(up.ids()).toEqual(range(12));
  });

  it('replays the readable lines of a damaged spool file, counts the rest as dropped and keeps the file', async () => {
    const dir = tempDir();
    const name = `test.${'1'.padStart(16, '0')}.1-abcd.ndjson`;
    writeFileSync(join(dir, name), '{"id":1}\n{"id":2\n{"id":3}\n', { mode: 0o600 });
    const sink = new FakeSink();
    const logs: Array<[string, string]> = [];
    const q = makeQueue(sink, { spoolDir: dir }, logs);
    await waitFor(() => sink.stored.length === 2, 2_000, 'the readable lines');
    await q.flush();
    expect(sink.ids()).toEqual([1, 3]);
    expect(q.stats().dropped).toBe(1);
    expect(readdirSync(dir)).toEqual([`${name}.corrupt`]);
    expect(logs.some(([level, msg]) => level === 'error' && /unreadable line/.test(msg))).toBe(true);
  });

  it('replays a large spooled file maxWriteItems at a time, without resending acknowledged chunks', async () => {
    const dir = tempDir();
    const name = `test.${'7'.padStart(16, '0')}.1-abcd.ndjson`;
    writeFileSync(join(dir, name), range(25).map((id) => JSON.stringify({ id }) + '\n').join(''), { mode: 0o600 });
    const sink = new FakeSink();
    let calls = 0;
    const q = makeQueue(sink, {
      spoolDir: dir,
      batchSize: 10,
      maxWriteItems: 10,
      write: async (batch) => {
        calls++;
        if (calls === 2) throw new Error('second chunk fails once (injected)');
        await sink.write(batch);
      },
    });
    await waitFor(() => sink.stored.length === 25, 3_000, 'replay');
    await q.flush();
    expect(sink.batchSizes).toEqual([10, 10, 5]);
    expect(sink.raw).toEqual(range(25)); // the first chunk was not sent again after the failure
    expect(q.stats()).toMatchObject({ replayed: 25, written: 25, failures: 1, spooledBatches: 0 });
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('ignores spool files of other queues sharing the folder', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, `other.${'1'.padStart(16, '0')}.1-abcd.ndjson`), '{"id":99}\n');
    const sink = new FakeSink();
    const q = makeQueue(sink, { spoolDir: dir, maxAgeMs: 1 });
    q.push({ id: 1 });
    await q.flush();
    expect(sink.ids()).toEqual([1]);
    expect(readdirSync(dir)).toHaveLength(1);
  });
});

describe('BatchQueue when nothing can take more', () => {
  it('counts and logs (rate-limited) what it drops when memory is full and the spool is full', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.failing = true;
    const logs: Array<[string, string]> = [];
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 5, maxQueue: 20, maxAgeMs: 1, maxSpoolBytes: 1_000 }, logs);
    for (const id of range(400)) {
      q.push({ id });
      if (id % 10 === 9) await sleep(2);
    }
    await sleep(50);
    const s = q.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.spoolBytes).toBeLessThanOrEqual(1_000);
    expect(s.queued).toBeLessThanOrEqual(40);
    const dropLines = logs.filter(([level, msg]) => level === 'error' && /dropped \d+ item/.test(msg));
    expect(dropLines.length).toBeGreaterThanOrEqual(1);
    expect(dropLines.length).toBeLessThanOrEqual(2); // rate-limited, not one line per item
    expect(logs.some(([level, msg]) => level === 'error' && /spool full \(\d+ of 1000 bytes\)/.test(msg))).toBe(true);
    // Every item is accounted for: stored later, or counted as dropped.
    sink.failing = false;
    await q.flush();
    await waitFor(() => q.stats().spooledBatches === 0 && q.stats().queued === 0, 3_000, 'recovery');
    expect(sink.stored.length + q.stats().dropped).toBe(400);
    const ids = sink.ids();
    expect(ids).toEqual([...ids].sort((a, b) => a - b)); // what survived kept its order
  });

  it('without a spool, memory stays at maxQueue and the excess is counted as dropped', async () => {
    const sink = new FakeSink();
    sink.failing = true;
    const logs: Array<[string, string]> = [];
    const q = makeQueue(sink, { batchSize: 10, maxQueue: 100, maxAgeMs: 1 }, logs);
    for (const id of range(250)) q.push({ id });
    const s = q.stats();
    expect(s.queued + s.inflight).toBeLessThanOrEqual(100);
    expect(s.dropped).toBe(250 - (s.queued + s.inflight));
    expect(logs.some(([, msg]) => /no spool configured/.test(msg))).toBe(true);
    sink.failing = false;
    await waitFor(() => sink.stored.length === 100, 3_000, 'the kept items');
    expect(sink.ids()).toEqual(range(100));
  });

  it('an item JSON cannot represent is counted as dropped, and does not block the spool', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.failing = true;
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 3, maxAgeMs: 1 });
    q.push({ id: 1 });
    q.push({ id: 2, pushedAt: 10n as unknown as number }); // BigInt: JSON.stringify throws
    q.push({ id: 3 });
    await q.flush();
    expect(q.stats().dropped).toBe(1);
    sink.failing = false;
    await q.flush();
    expect(sink.ids()).toEqual([1, 3]);
  });
});

interface DeadRecord {
  at: string;
  queue: string;
  error: string;
  code?: string;
  item: Item;
}

function deadLetters(dir: string): { files: string[]; records: DeadRecord[] } {
  const deadDir = join(dir, 'dead');
  let files: string[] = [];
  try {
    files = readdirSync(deadDir).sort();
  } catch {
    return { files, records: [] };
  }
  const records = files.flatMap((f) =>
    readFileSync(join(deadDir, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DeadRecord),
  );
  return { files, records };
}

describe('BatchQueue when the store refuses items (dead letters)', () => {
  it('splits a refused batch until the refused items stand alone: they are set aside, every other item is written', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.refuse = new Set([3, 50]); // both in the first batch of 100
    const logs: Array<[string, string]> = [];
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 100, maxAgeMs: 1 }, logs);
    for (const id of range(300)) q.push({ id });
    await q.flush();

    expect(sink.ids()).toEqual(range(300).filter((id) => id !== 3 && id !== 50)); // all the rest, in order
    expect(q.stats()).toMatchObject({ written: 298, deadLettered: 2, dropped: 0, failures: 0, queued: 0, spooledBatches: 0 });
    const { files, records } = deadLetters(dir);
    expect(files).toHaveLength(1); // one file per isolated batch
    expect(files[0]).toMatch(/^test\.\d{8}T\d{9}Z\.\d+-[0-9a-f]{8}\.jsonl$/);
    expect(statSync(join(dir, 'dead', files[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'dead')).mode & 0o777).toBe(0o700);
    expect(records.map((r) => r.item)).toEqual([{ id: 3 }, { id: 50 }]);
    expect(records[0]).toMatchObject({ queue: 'test', error: 'invalid value in item 3 (injected)', code: '22021' });
    expect(records[1]!.error).toBe('invalid value in item 50 (injected)'); // each item's own refusal
    // Logged once for the batch, not once per item; no "write failed / retrying" noise.
    const lines = logs.filter(([, msg]) => /refused/.test(msg));
    expect(lines).toHaveLength(1);
    expect(lines[0]![1]).toMatch(/refused 2 of 100 item\(s\).*set aside in .*dead.*\(2 in total\)/);
    expect(logs.some(([, msg]) => /write failed|retrying/.test(msg))).toBe(false);
    // Bisection, not one write per item: 1 + 2·⌈log2 100⌉ per bad item at most.
    expect(sink.calls).toBeLessThan(3 + 2 * 2 * 7);
    // Nothing refused is ever stored; the spool folder holds only the dead/ subfolder.
    expect(sink.raw.filter((id) => sink.refuse.has(id))).toEqual([]);
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('an unavailable store is retried with backoff and spooled, never dead-lettered', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.failing = true; // a plain error: the store did not answer
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 10, maxAgeMs: 1 });
    for (const id of range(50)) q.push({ id });
    await waitFor(() => q.stats().failures >= 3, 2_000, 'several failed attempts');
    await q.flush();
    expect(q.stats().spooledBatches).toBeGreaterThan(0);
    sink.failing = false;
    await waitFor(() => sink.stored.length === 50, 3_000, 'everything after recovery');
    expect(sink.ids()).toEqual(range(50));
    expect(q.stats()).toMatchObject({ deadLettered: 0, dropped: 0 });
    expect(sink.refusals).toBe(0);
    expect(deadLetters(dir).files).toEqual([]);
  });

  it('an outage in the middle of isolating: the batch is retried whole later and nothing is set aside twice', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.refuse = new Set([7]);
    let calls = 0;
    const q = makeQueue(sink, {
      spoolDir: dir,
      batchSize: 20,
      maxAgeMs: 1,
      write: async (batch) => {
        calls++;
        if (calls === 2) throw new Error('connection reset (injected)'); // the first half of the split
        return sink.write(batch);
      },
    });
    for (const id of range(20)) q.push({ id });
    await waitFor(() => sink.stored.length === 19, 3_000, 'every good item');
    await q.flush();
    expect(sink.ids()).toEqual(range(20).filter((id) => id !== 7));
    expect(q.stats()).toMatchObject({ deadLettered: 1, dropped: 0, failures: 1, spooledBatches: 0 });
    expect(deadLetters(dir).records.map((r) => r.item.id)).toEqual([7]);
  });

  it('replay after a restart: a poisoned spool file blocks nothing, and the spool drains', async () => {
    const dir = tempDir();
    const file = (seq: number) => `test.${String(seq).padStart(16, '0')}.1-abcd.ndjson`;
    const lines = (ids: number[]) => ids.map((id) => JSON.stringify({ id }) + '\n').join('');
    writeFileSync(join(dir, file(1)), lines(range(50)), { mode: 0o600 });
    writeFileSync(join(dir, file(2)), lines(range(50, 50)), { mode: 0o600 });
    const sink = new FakeSink();
    sink.refuse = new Set([20, 75]);
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 10, maxWriteItems: 30 });
    q.push({ id: 100 }); // new items wait behind the spool, and still land
    await waitFor(() => sink.stored.length === 99, 3_000, 'the replay and the new item');
    await q.flush();
    expect(sink.ids()).toEqual(range(101).filter((id) => id !== 20 && id !== 75));
    expect(q.stats()).toMatchObject({ replayed: 98, written: 99, deadLettered: 2, dropped: 0, spooledBatches: 0 });
    expect(spoolFiles(dir)).toEqual([]);
    expect(deadLetters(dir).records.map((r) => r.item.id)).toEqual([20, 75]);
  });

  it('without a spool folder a refused item cannot be kept: counted as dead-lettered and dropped, the rest written', async () => {
    const sink = new FakeSink();
    sink.refuse = new Set([4]);
    const logs: Array<[string, string]> = [];
    const q = makeQueue(sink, { batchSize: 10, maxAgeMs: 1 }, logs);
    for (const id of range(10)) q.push({ id });
    await q.flush();
    expect(sink.ids()).toEqual(range(10).filter((id) => id !== 4));
    expect(q.stats()).toMatchObject({ written: 9, deadLettered: 1, dropped: 1 });
    expect(logs.some(([level, msg]) => level === 'error' && /refused 1 of 10 .*no spool folder/.test(msg))).toBe(true);
  });

  it('the dead-letter folder is capped: past the cap refused items are dropped (counted), never block', async () => {
    const dir = tempDir();
    const sink = new FakeSink();
    sink.refuse = new Set(range(40)); // every item of the first 4 batches
    const q = makeQueue(sink, { spoolDir: dir, batchSize: 10, maxAgeMs: 1, maxSpoolBytes: 1_500 });
    for (const id of range(60)) q.push({ id });
    await q.flush();
    expect(sink.ids()).toEqual(range(20, 40));
    const s = q.stats();
    expect(s.deadLettered).toBe(40);
    const kept = deadLetters(dir).records.length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(40);
    expect(s.dropped).toBe(40 - kept);
  });

  it('takes a classifier: only errors it calls data errors are isolated', async () => {
    const dir = tempDir();
    const refusedIds = new Set([2]);
    const stored: number[] = [];
    const q = makeQueue(new FakeSink(), {
      spoolDir: dir,
      batchSize: 5,
      maxAgeMs: 1,
      isDataError: (err) => (err as Error).message.startsWith('bad value'),
      write: async (batch) => {
        if (batch.some((i) => refusedIds.has(i.id))) throw new Error('bad value (injected)');
        stored.push(...batch.map((i) => i.id));
      },
    });
    for (const id of range(5)) q.push({ id });
    await q.flush();
    expect(stored).toEqual([0, 1, 3, 4]);
    expect(q.stats().deadLettered).toBe(1);
  });
});
