// A generic write-behind queue: the hot path calls push() (sync, O(1), never throws, never
// waits), and one background "pump" writes batches to a sink. Used for traces and for session
// checkpoints alike.
//
// Guarantees, and how:
// - Batches close by size (`batchSize`) or age (`maxAgeMs`), so an item reaches a healthy sink
//   within about maxAgeMs + one write.
// - One write in flight per queue, oldest first: order is preserved.
// - A failed batch goes to the disk spool (./spool.ts) and is retried from there with exponential
//   backoff. While the sink is down, every closed batch is spilled to the spool as well, so memory
//   holds at most one open batch plus whatever the disk has not taken yet.
// - Replay is in order: the spool only ever holds items older than anything in memory, so the pump
//   drains the spool before taking from memory. A batch taken from memory reserves its place in the
//   spool's order when it is sent, so if it fails after newer batches were spilled it still replays
//   before them. Spool files are deleted only after the sink acknowledged the batch; a write whose ack
//   was lost is replayed, so sinks must be idempotent (they dedupe by request id and start time).
// - A spool left by an earlier process is replayed first.
// - A failed write is one of two kinds (src/stores/errors.ts). The store could not answer
//   (availability): the batch is retried with backoff and spooled, as above. The store answered and
//   refused the data: retrying cannot help, and retrying first forever would block every later item.
//   The batch is split in halves, recursively, until each refused item stands alone (each is refused
//   when written by itself); those go to `<spoolDir>/dead/` (./dead-letter.ts), counted in
//   stats().deadLettered and logged once per batch, and everything else is written. A spool replayed
//   after a restart goes through the same path, so a poisoned spool file blocks nothing either.
// - Nothing is lost silently: an item is dropped only when memory is full and the spool cannot take
//   more (over maxSpoolBytes, disk error, or no spool configured), or when a refused item cannot be
//   set aside; each drop is counted in stats().dropped and logged (rate-limited).
// Not covered: a process killed without close() loses what was still in memory (at most one open
// batch while the sink is down; up to maxQueue while it is healthy but slower than the input).
import { join } from 'node:path';
import { isStoreDataError } from '../stores/errors.js';
import { DeadLetterFolder, type DeadLetter } from './dead-letter.js';
import { ThrottledLog, type LogFn } from './log-throttle.js';
import { Spool, SpoolFullError, type SpoolEntry } from './spool.js';

export interface BatchQueueOptions<T> {
  /** Names the queue in logs and its spool files (`[A-Za-z0-9_-]+`). */
  name: string;
  /** Writes one batch; resolves once the sink holds it, throws otherwise. Must be idempotent. */
  write: (batch: T[]) => Promise<void>;
  /**
   * Folder for batches the sink did not take. Without it, failures can only be retried from memory.
   * Items the store refused go to its `dead/` subfolder.
   */
  spoolDir?: string;
  /** Items held in memory before spilling to the spool (or, without a usable spool, dropping). */
  maxQueue?: number;
  batchSize?: number;
  /** How long the first item of a batch may wait for the batch to fill. */
  maxAgeMs?: number;
  /**
   * When batches queue up (the sink is slower than the input, or the spool is replayed), up to this
   * many items go in one write. Default batchSize: never merge (right for large items such as
   * checkpoints). Stores with a large fixed cost per insert (ClickHouse) want several batches'
   * worth; the TraceEmitter sets 10 × batchSize.
   */
  maxWriteItems?: number;
  maxSpoolBytes?: number;
  /** A write that has not settled by then counts as failed (the batch is spooled and retried). */
  writeTimeoutMs?: number;
  log?: LogFn;
  retry?: { baseMs?: number; maxMs?: number };
  /**
   * Whether a write error means the store refused the data (split the batch, set the refused items
   * aside) rather than that it could not answer (retry). Default: the adapters' marking,
   * isStoreDataError (src/stores/errors.ts).
   */
  isDataError?: (err: unknown) => boolean;
}

export interface BatchQueueStats {
  /** Items in memory waiting for a write */
  queued: number;
  /** Items in the write now in flight */
  inflight: number;
  /** Items the sink acknowledged (replays included) */
  written: number;
  /** Failed write attempts */
  failures: number;
  /** Batches in the spool now */
  spooledBatches: number;
  spoolBytes: number;
  /** Items written from the spool */
  replayed: number;
  /** Items lost: memory full and the spool could not take them, or unreadable spool lines */
  dropped: number;
  /**
   * Items the store refused because of their data, each set aside in `<spoolDir>/dead/` (one that
   * could not be written there is counted in `dropped` as well)
   */
  deadLettered: number;
}

export const BATCH_QUEUE_DEFAULTS = {
  maxQueue: 10_000,
  batchSize: 200,
  maxAgeMs: 50,
  maxSpoolBytes: 256 * 1024 * 1024,
  writeTimeoutMs: 30_000,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
} as const;

const LOG_INTERVAL_MS = 10_000;
/** After the spool refused a batch, how long before trying it again for overflow. */
const SPOOL_RETRY_MS = 1_000;
/**
 * A spill merges closed batches into one file of up to this many batches: each file costs an
 * fsync (a few ms), which would otherwise cap the spool at batchSize items per fsync. Replay
 * writes maxWriteItems at a time.
 */
const SPILL_MERGE_BATCHES = 10;

interface Job<T> {
  items: T[];
  /** The spooled batch this came from; null for a batch taken from memory */
  entry: SpoolEntry | null;
  /** Replay position reserved for a memory batch, used if it has to be spooled */
  seq: number | undefined;
  /** The spooled file had unreadable lines: keep it aside instead of deleting it */
  quarantine: boolean;
  /** Items in the write now in flight (a spooled file is replayed in several writes) */
  inflightCount: number;
  /** The write settled (what follows is bookkeeping: delete, or spool on failure) */
  settled: boolean;
  /** close() spooled this batch itself because its write did not settle in time */
  abandoned: boolean;
  /** Items of a memory batch the store refused (set aside, not written) */
  refused: number;
}

interface FlushWaiter {
  /** Items pushed before flush() was called */
  barrier: number;
  /** Highest spool position that may hold one of those items, once they all left memory */
  spoolMark: number | null;
  resolve: () => void;
}

export class BatchQueue<T> {
  readonly name: string;
  private readonly writeFn: (batch: T[]) => Promise<void>;
  private readonly isDataError: (err: unknown) => boolean;
  private readonly deadLetters: DeadLetterFolder | null;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly maxAgeMs: number;
  private readonly maxWriteItems: number;
  private readonly writeTimeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly log: LogFn;
  private readonly failLog: ThrottledLog;
  private readonly dropLog: ThrottledLog;
  private readonly spoolLog: ThrottledLog;
  private readonly lateLog: ThrottledLog;

  private spool: Spool<T> | null;
  private spoolProblem: { kind: 'full' | 'error'; detail: string; at: number } | null = null;
  private readonly ready: Promise<void>;

  /** Closed batches, oldest first, then the one still filling */
  private sealed: T[][] = [];
  private open: T[] = [];
  private queued = 0;
  private pushed = 0;
  /** Items that left memory (written, in flight or spilled), for flush barriers */
  private leftMemory = 0;

  /** The batch being written, until its outcome is fully handled */
  private inflight: Job<T> | null = null;
  private jobDone: Promise<void> = Promise.resolve();
  private written = 0;
  private failures = 0;
  private replayed = 0;
  private dropped = 0;
  private deadLettered = 0;

  private sinkDown = false;
  private attempt = 0;
  private retryAt = 0;

  private spillsPending = 0;
  private spillChain: Promise<void> = Promise.resolve();

  private flushWaiters: FlushWaiter[] = [];
  private ageTimer: NodeJS.Timeout | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeResolve: (() => void) | null = null;
  private wakePending = false;

  private closePromise: Promise<void> | null = null;
  private closed = false;

  constructor(opts: BatchQueueOptions<T>) {
    if (!/^[A-Za-z0-9_-]+$/.test(opts.name)) throw new Error(`BatchQueue name must match [A-Za-z0-9_-]+: ${opts.name}`);
    this.name = opts.name;
    this.writeFn = opts.write;
    this.isDataError = opts.isDataError ?? isStoreDataError;
    this.maxQueue = positive(opts.maxQueue, BATCH_QUEUE_DEFAULTS.maxQueue, 'maxQueue');
    this.batchSize = Math.min(positive(opts.batchSize, BATCH_QUEUE_DEFAULTS.batchSize, 'batchSize'), this.maxQueue);
    this.maxAgeMs = nonNegative(opts.maxAgeMs, BATCH_QUEUE_DEFAULTS.maxAgeMs, 'maxAgeMs');
    this.maxWriteItems = Math.max(this.batchSize, positive(opts.maxWriteItems, this.batchSize, 'maxWriteItems'));
    this.writeTimeoutMs = positive(opts.writeTimeoutMs, BATCH_QUEUE_DEFAULTS.writeTimeoutMs, 'writeTimeoutMs');
    this.retryBaseMs = positive(opts.retry?.baseMs, BATCH_QUEUE_DEFAULTS.retryBaseMs, 'retry.baseMs');
    this.retryMaxMs = Math.max(this.retryBaseMs, positive(opts.retry?.maxMs, BATCH_QUEUE_DEFAULTS.retryMaxMs, 'retry.maxMs'));
    this.log = opts.log ?? (() => undefined);
    this.failLog = new ThrottledLog(this.log, LOG_INTERVAL_MS);
    this.dropLog = new ThrottledLog(this.log, LOG_INTERVAL_MS);
    this.spoolLog = new ThrottledLog(this.log, LOG_INTERVAL_MS);
    this.lateLog = new ThrottledLog(this.log, LOG_INTERVAL_MS);

    const maxSpoolBytes = positive(opts.maxSpoolBytes, BATCH_QUEUE_DEFAULTS.maxSpoolBytes, 'maxSpoolBytes');
    this.spool = opts.spoolDir ? new Spool<T>(opts.spoolDir, this.name, maxSpoolBytes) : null;
    this.deadLetters = opts.spoolDir ? new DeadLetterFolder(join(opts.spoolDir, 'dead'), this.name, maxSpoolBytes) : null;
    this.ready = this.initSpool();
    void this.run();
  }

  /** Enqueues one item. Sync, O(1); never throws, never waits. */
  push(item: T): void {
    try {
      if (this.closed) return this.pushAfterClose(item);
      if (this.queued >= this.memoryCap()) return this.drop(1, this.dropReason());
      this.open.push(item);
      this.queued++;
      this.pushed++;
      if (this.open.length === 1) this.armAgeTimer();
      if (this.open.length >= this.batchSize) this.sealOpen();
    } catch (err) {
      this.drop(1, `push failed: ${errorText(err)}`);
    }
  }

  /**
   * Resolves once everything pushed before the call is written, or (when a write fails) safely in
   * the spool; and the spool replayed, if the sink takes writes. Tries at once, ignoring a running
   * backoff. Never rejects: check stats() for what is still spooled.
   */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push({ barrier: this.pushed, spoolMark: null, resolve });
      this.wake();
    });
  }

  /**
   * Stops the timers and flushes; what could not be written within `timeoutMs` (sink down or
   * slow) is spooled to disk for the next process. Items pushed afterwards are spooled directly.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.closePromise ??= this.doClose(timeoutMs);
    return this.closePromise;
  }

  stats(): BatchQueueStats {
    const job = this.inflight;
    return {
      queued: this.queued,
      inflight: job && !job.settled ? job.inflightCount : 0,
      written: this.written,
      failures: this.failures,
      spooledBatches: this.spool?.batches ?? 0,
      spoolBytes: this.spool?.bytes ?? 0,
      replayed: this.replayed,
      dropped: this.dropped,
      deadLettered: this.deadLettered,
    };
  }

  // ---------- the pump: one write at a time ----------

  private async run(): Promise<void> {
    await this.ready;
    while (!this.closed) {
      try {
        this.settleFlushes();
        const forcing = this.flushWaiters.length > 0;
        const backoffLeft = this.retryAt - Date.now();
        if (backoffLeft > 0 && !forcing) {
          await this.sleep(backoffLeft);
          continue;
        }
        const job = await this.nextJob(forcing);
        if (this.closed) break;
        if (!job) {
          if (forcing && this.spillsPending === 0) this.resolveFlushes();
          else await this.sleep();
          continue;
        }
        this.jobDone = this.runJob(job, forcing);
        await this.jobDone;
      } catch (err) {
        // A bug or an fs error outside the expected paths: say so, and do not spin.
        this.log('error', `${this.name} queue: unexpected error, retrying: ${errorText(err)}`);
        await this.sleep(this.retryBaseMs);
      }
    }
  }

  /** The oldest batch to write: spooled ones first (they are older), then memory. */
  private async nextJob(forcing: boolean): Promise<Job<T> | null> {
    for (;;) {
      // Once closed, close() owns what is in memory: taking a batch now would strand it.
      if (this.closed) return null;
      if (this.spillsPending > 0) {
        // A batch on its way to the spool is older than what is left in memory.
        await this.spillChain;
        continue;
      }
      const head = this.spool?.head();
      if (head && this.spool) {
        const read = await this.spool.read(head).catch((err: unknown) => {
          // Kept on disk (renamed .corrupt) for a human, not counted as dropped.
          this.log('error', `${this.name} queue: cannot read spooled batch ${head.file}, set aside as .corrupt: ${errorText(err)}`);
          return { items: [] as T[], badLines: 0 };
        });
        if (this.closed) return null;
        if (read === null) {
          this.spool.forget(head); // another process sharing the folder replayed it
          continue;
        }
        if (read.badLines > 0) {
          this.dropped += read.badLines;
          this.log('error', `${this.name} queue: ${read.badLines} unreadable line(s) in spooled batch ${head.file}, counted as dropped; the file is kept as .corrupt`);
        }
        if (read.items.length === 0) {
          await this.spool.quarantine(head);
          continue;
        }
        const job: Job<T> = { items: read.items, entry: head, seq: undefined, quarantine: read.badLines > 0, inflightCount: 0, settled: false, abandoned: false, refused: 0 };
        this.inflight = job;
        return job;
      }
      // From here on synchronous: nothing can be spilled between the check above and the take.
      if (this.sealed.length === 0 && this.open.length > 0 && (forcing || this.closePromise)) this.sealOpen();
      const first = this.sealed.shift();
      if (!first) return null;
      // A backlog goes out in fewer, larger writes (up to maxWriteItems), oldest first.
      let items = first;
      if (this.sealed.length > 0 && this.sealed[0]!.length + first.length <= this.maxWriteItems) {
        items = first.slice();
        while (this.sealed.length > 0 && items.length + this.sealed[0]!.length <= this.maxWriteItems) {
          for (const item of this.sealed.shift()!) items.push(item);
        }
      }
      this.queued -= items.length;
      this.leftMemory += items.length;
      const job: Job<T> = { items, entry: null, seq: this.spool?.reserveSeq(), quarantine: false, inflightCount: items.length, settled: false, abandoned: false, refused: 0 };
      this.inflight = job;
      return job;
    }
  }

  private async runJob(job: Job<T>, forcing: boolean): Promise<void> {
    let error: unknown = null;
    try {
      if (job.entry) {
        // A spooled file may hold several batches: replay it maxWriteItems at a time, and
        // remember progress so a retry does not resend what the sink already took.
        const entry = job.entry;
        for (let i = entry.acked ?? 0; i < job.items.length; i += this.maxWriteItems) {
          const chunk = job.items.slice(i, i + this.maxWriteItems);
          job.inflightCount = chunk.length;
          const refused = await this.writeOrSetAside(job, chunk);
          entry.acked = i + chunk.length;
          this.written += chunk.length - refused;
          this.replayed += chunk.length - refused;
        }
      } else {
        job.refused = await this.writeOrSetAside(job, job.items);
      }
    } catch (err) {
      error = err ?? new Error('write failed');
    }
    job.settled = true;
    try {
      if (job.abandoned) {
        if (!error && !job.entry) this.written += job.items.length - job.refused;
      } else if (error === null) {
        await this.onWritten(job);
      } else {
        await this.onFailed(job, error, forcing);
      }
    } finally {
      if (this.inflight === job) this.inflight = null;
    }
  }

  private timedWrite(items: T[]): Promise<void> {
    return withTimeout(this.writeFn(items), this.writeTimeoutMs, `${this.name} write timed out after ${this.writeTimeoutMs} ms`);
  }

  /**
   * Writes `items`. If the store refuses them for their data, finds the refused items, sets them
   * aside and returns how many; every other item is then written. Throws on an availability
   * failure (also midway: the whole call is retried later; sinks are idempotent, and nothing was
   * set aside yet).
   */
  private async writeOrSetAside(job: Job<T>, items: T[]): Promise<number> {
    try {
      await this.timedWrite(items);
      return 0;
    } catch (err) {
      if (!this.isDataError(err)) throw err;
      const refused: DeadLetter<T>[] = [];
      await this.isolate(job, items, err, refused);
      job.inflightCount = 0;
      await this.setAside(refused, items.length);
      return refused.length;
    }
  }

  /** `items` were refused as a whole: write each half, recursing into a refused half. */
  private async isolate(job: Job<T>, items: T[], err: unknown, out: DeadLetter<T>[]): Promise<void> {
    if (items.length === 1) {
      out.push({ item: items[0]!, error: err });
      return;
    }
    const mid = Math.ceil(items.length / 2);
    for (const part of [items.slice(0, mid), items.slice(mid)]) {
      // close() spooled this batch for the next process, which will isolate it again.
      if (job.abandoned) throw new Error(`${this.name} queue: closed while isolating refused items`);
      job.inflightCount = part.length;
      try {
        await this.timedWrite(part);
      } catch (partErr) {
        if (!this.isDataError(partErr)) throw partErr;
        await this.isolate(job, part, partErr, out);
      }
    }
  }

  /** Puts refused items in the dead-letter folder; one log line for the batch. */
  private async setAside(refused: DeadLetter<T>[], batchSize: number): Promise<void> {
    if (refused.length === 0) return;
    this.deadLettered += refused.length;
    const why = errorText(refused[0]!.error);
    const what = `the store refused ${refused.length} of ${batchSize} item(s) for their data (${why})`;
    if (!this.deadLetters) {
      this.drop(refused.length, `${what}, and there is no spool folder to set them aside in`);
      return;
    }
    try {
      const file = await this.deadLetters.write(refused);
      this.log('error', `${this.name} queue: ${what}; set aside in ${file} (${this.deadLettered} in total), the other items were written`);
    } catch (err) {
      this.drop(refused.length, `${what}, and they could not be set aside: ${errorText(err)}`);
    }
  }

  private async onWritten(job: Job<T>): Promise<void> {
    if (!job.entry) this.written += job.items.length - job.refused;
    if (job.entry && this.spool) {
      try {
        if (job.quarantine) await this.spool.quarantine(job.entry);
        else await this.spool.remove(job.entry);
      } catch (err) {
        // Replaying it again is harmless (the sink dedupes); looping on it forever is not.
        this.spool.forget(job.entry);
        this.log('error', `${this.name} queue: cannot delete replayed batch ${job.entry.file}: ${errorText(err)}`);
      }
      if (this.spoolProblem?.kind === 'full') this.spoolProblem = null;
    }
    if (this.sinkDown) {
      this.sinkDown = false;
      this.failLog.reset();
      const left = this.spool?.batches ?? 0;
      this.log('info', `${this.name} queue: sink recovered${left > 0 ? `, replaying ${left} spooled batch(es)` : ''}`);
    }
    this.attempt = 0;
    this.retryAt = 0;
  }

  private async onFailed(job: Job<T>, error: unknown, forcing: boolean): Promise<void> {
    this.failures++;
    this.attempt++;
    this.sinkDown = true;
    const delay = this.backoff(this.attempt);
    this.retryAt = Date.now() + delay;
    this.failLog.hit('warn', 1, (_u, n) => `${this.name} queue: write failed${n > 1 ? ` (${n} times since last report)` : ''}: ${errorText(error)}; retrying with backoff (next in ${delay} ms), ${this.spool?.batches ?? 0} batch(es) spooled, ${this.queued} in memory`);
    if (!job.entry) {
      // A memory batch: move it to disk so memory stays bounded while the sink is down.
      if (!(await this.spillJob(job))) this.putBack(job.items);
    }
    if (forcing) {
      // flush()/close() asked for everything now and the sink cannot take it: make it durable.
      await this.spillAll();
      this.resolveFlushes();
    } else {
      this.maybeSpill();
    }
  }

  // ---------- memory ----------

  private sealOpen(): void {
    if (this.ageTimer) {
      clearTimeout(this.ageTimer);
      this.ageTimer = null;
    }
    if (this.open.length === 0) return;
    this.sealed.push(this.open);
    this.open = [];
    this.wake();
    this.maybeSpill();
  }

  private armAgeTimer(): void {
    if (this.ageTimer || this.closed) return;
    this.ageTimer = setTimeout(() => {
      this.ageTimer = null;
      this.sealOpen();
    }, this.maxAgeMs);
    this.ageTimer.unref();
  }

  private putBack(items: T[]): void {
    this.sealed.unshift(items);
    this.queued += items.length;
    this.leftMemory -= items.length;
  }

  /** With a working spool, memory may briefly hold up to twice maxQueue while the disk catches up. */
  private memoryCap(): number {
    return this.spool && !this.spoolProblem ? 2 * this.maxQueue : this.maxQueue;
  }

  private drop(n: number, reason: string): void {
    this.dropped += n;
    this.dropLog.hit('error', n, (units) => `${this.name} queue: dropped ${units} item(s) (${this.dropped} in total): ${reason}`);
  }

  private dropReason(): string {
    if (!this.spool) return `memory queue full (${this.queued} items) and no spool configured`;
    if (this.spoolProblem) return `memory queue full (${this.queued} items) and ${this.spoolProblem.detail}`;
    return `memory queue full (${this.queued} items) while the spool is not keeping up`;
  }

  // ---------- spool ----------

  private async initSpool(): Promise<void> {
    const spool = this.spool;
    if (!spool) return;
    try {
      const found = await spool.init();
      if (found.batches > 0) {
        this.log('info', `${this.name} queue: replaying ${found.batches} batch(es) (${found.bytes} bytes) spooled earlier in ${spool.dir}`);
      }
    } catch (err) {
      this.spool = null;
      this.log('error', `${this.name} queue: spool ${spool.dir} unusable, failed writes can only wait in memory: ${errorText(err)}`);
    }
  }

  /** Spills closed batches to disk while the sink is down or memory is over maxQueue. */
  private maybeSpill(): void {
    if (!this.spool || this.closed || this.sealed.length === 0) return;
    if (!this.sinkDown && this.queued <= this.maxQueue) return;
    if (this.spoolProblem && Date.now() - this.spoolProblem.at < SPOOL_RETRY_MS) return;
    if (this.spillsPending > 0) return; // the running spill re-checks before it stops
    void this.enqueueSpill(() => this.spillWhileNeeded());
  }

  private enqueueSpill(task: () => Promise<void>): Promise<void> {
    this.spillsPending++;
    const done = this.spillChain.then(task).catch((err: unknown) => {
      this.log('error', `${this.name} queue: spill failed: ${errorText(err)}`);
    });
    this.spillChain = done.finally(() => {
      this.spillsPending--;
      this.wake();
    });
    return this.spillChain;
  }

  private spillNeeded(): boolean {
    return !this.closed && this.sealed.length > 0 && (this.sinkDown || this.queued > this.maxQueue);
  }

  private async spillWhileNeeded(): Promise<void> {
    await this.ready;
    while (this.spillNeeded()) {
      if (!(await this.spillHead(SPILL_MERGE_BATCHES, () => this.spillNeeded()))) return;
    }
  }

  /** Everything in memory to disk, in order (flush with the sink down, close). */
  private spillAll(): Promise<void> {
    return this.enqueueSpill(async () => {
      await this.ready;
      this.sealOpen();
      let batches = this.sealed.length;
      while (batches > 0 && this.sealed.length > 0) {
        const n = Math.min(batches, SPILL_MERGE_BATCHES);
        batches -= n;
        if (!(await this.spillHead(n, () => true))) return;
      }
    });
  }

  /** Moves up to `maxBatches` of the oldest closed batches into one spool file. */
  private async spillHead(maxBatches: number, more: () => boolean): Promise<boolean> {
    const taken: T[][] = [];
    while (taken.length < maxBatches && this.sealed.length > 0 && (taken.length === 0 || more())) {
      const batch = this.sealed.shift()!;
      this.queued -= batch.length;
      this.leftMemory += batch.length;
      taken.push(batch);
    }
    if (taken.length === 0) return true;
    if (await this.spoolWrite(taken.length === 1 ? taken[0]! : taken.flat())) return true;
    for (let i = taken.length - 1; i >= 0; i--) this.putBack(taken[i]!);
    return false;
  }

  private async spillJob(job: Job<T>): Promise<boolean> {
    return this.spoolWrite(job.items, job.seq);
  }

  private async spoolWrite(items: T[], seq?: number): Promise<boolean> {
    if (!this.spool) return false;
    try {
      const { unserializable } = await this.spool.append(items, seq);
      if (unserializable > 0) this.drop(unserializable, 'item(s) JSON cannot represent could not be spooled');
      if (this.spoolProblem) {
        this.spoolProblem = null;
        this.spoolLog.reset();
      }
      return true;
    } catch (err) {
      const full = err instanceof SpoolFullError;
      const detail = full ? `spool full (${this.spool.bytes} of ${err.maxBytes} bytes)` : `spool write failed: ${errorText(err)}`;
      this.spoolProblem = { kind: full ? 'full' : 'error', detail, at: Date.now() };
      this.spoolLog.hit('error', items.length, (units) => `${this.name} queue: ${detail}; ${units} item(s) kept in memory (${this.queued + items.length} queued, cap ${this.maxQueue})`);
      return false;
    }
  }

  private pushAfterClose(item: T): void {
    if (!this.spool) return this.drop(1, 'pushed after close, and no spool configured');
    try {
      if (this.spool.appendSync([item]).unserializable > 0) return this.drop(1, 'pushed after close, and JSON cannot represent it');
      this.lateLog.hit('warn', 1, (units) => `${this.name} queue: ${units} item(s) pushed after close, spooled for the next process`);
    } catch (err) {
      this.drop(1, `pushed after close and the spool refused it: ${errorText(err)}`);
    }
  }

  // ---------- flush and close ----------

  private settleFlushes(): void {
    if (this.flushWaiters.length === 0 || this.spillsPending > 0 || this.inflight) return;
    const head = this.spool?.head();
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (this.leftMemory < w.barrier) return true;
      // All of its items left memory; those not written are in the spool at or before this mark.
      w.spoolMark ??= this.spool ? this.spool.lastSeq : 0;
      if (head && head.seq <= w.spoolMark) return true;
      w.resolve();
      return false;
    });
  }

  private resolveFlushes(): void {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.sealOpen();
    const finished = await raceTimeout(this.flush(), timeoutMs);
    this.closed = true;
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = null;
    this.wake();

    // A write still hanging: its batch goes to disk at the place it reserved; if the write lands
    // after all, the replay is a duplicate the sink dedupes.
    // A write that settled is being handled (deleted, or spooled on failure): let that finish.
    const current = this.inflight;
    const leftovers: Array<{ items: T[]; seq?: number }> = [];
    if (current && !current.settled) {
      current.abandoned = true;
      if (!current.entry) leftovers.push({ items: current.items, seq: current.seq });
    } else if (current) {
      await this.jobDone;
    }
    await this.spillChain;
    this.sealOpen();
    for (const items of this.sealed) leftovers.push({ items });
    this.sealed = [];
    this.queued = 0;

    let spooled = 0;
    for (const { items, seq } of leftovers) {
      if (await this.spoolWrite(items, seq)) spooled += items.length;
      else this.drop(items.length, `closing, and the sink and the spool both refused the batch`);
    }
    this.resolveFlushes();
    const spoolBatches = this.spool?.batches ?? 0;
    if (!finished) this.log('warn', `${this.name} queue: sink did not finish within ${timeoutMs} ms at close`);
    if (spoolBatches > 0) {
      this.log('warn', `${this.name} queue: closed with ${spoolBatches} batch(es) spooled in ${this.spool!.dir} for replay by the next process${spooled ? ` (${spooled} item(s) spooled at close)` : ''}`);
    }
    this.dropLog.drain('error', (units) => `${this.name} queue: dropped ${units} more item(s) (${this.dropped} in total)`);
  }

  // ---------- timing ----------

  private backoff(attempt: number): number {
    const base = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    // ±20% jitter so replicas that lost the same sink do not retry in lockstep.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms?: number): Promise<void> {
    if (this.wakePending || this.closed) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeResolve = () => {
        this.wakeResolve = null;
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = null;
        resolve();
      };
      if (ms !== undefined) {
        this.sleepTimer = setTimeout(() => this.wakeResolve?.(), ms);
        this.sleepTimer.unref();
      }
    });
  }

  private wake(): void {
    if (this.wakeResolve) this.wakeResolve();
    else this.wakePending = true;
  }
}

function positive(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`BatchQueue ${what} must be a positive number: ${v}`);
  return v;
}

function nonNegative(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0) throw new Error(`BatchQueue ${what} must be zero or more: ${v}`);
  return v;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([Promise.resolve(p), timeout]).finally(() => clearTimeout(timer));
}

/** true if `p` settled within `ms`. The timer is not unref'd: close() must get to spool. */
async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
