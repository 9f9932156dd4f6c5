// Embedded mode's write-behind runs in a worker thread. better-sqlite3 is synchronous, so a batch of
// checkpoints or traces written on the gateway's event loop stalls every request in flight for as long
// as the transaction takes (measured: event-loop delay p99 7 ms, max 28 ms at ~175 req/s). The worker
// has its own connection to the same WAL database; write() resolves on its acknowledgement, so the
// BatchQueue contract (retry, spool, idempotency) is unchanged. A refusal because of the data comes
// back as a StoreDataError (the worker classifies with isSqliteDataError), so the queue can set the
// refused items aside instead of retrying them forever.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../util/package-root.js';
import { StoreDataError } from '../errors.js';
import type { AppendResult, CheckpointInput, PruneCounts, PruneOptions, Trace } from '../ports.js';
import type { ClaimOutcome, ClaimTuple, WriterFailure, WriterReply, WriterRequest } from './writer-worker.js';

type Pending = { resolve: (value: unknown) => void; reject: (e: Error) => void };
type PendingClaim = Pending & { claim: ClaimTuple };
type WriterRequestInput = WriterRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The compiled worker: beside this file when running from dist/, else the build (tests run src/). */
function workerPath(): string {
  const here = fileURLToPath(new URL('./writer-worker.js', import.meta.url));
  return existsSync(here) ? here : join(packageRoot(), 'dist/src/stores/sqlite/writer-worker.js');
}

export class SqliteWriter {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** Claims waiting for the end of this event-loop turn, sent to the worker as one message. */
  private claims: PendingClaim[] = [];

  constructor(private readonly path: string) {}

  appendCheckpoints(batch: CheckpointInput[]): Promise<AppendResult> {
    return this.call({ op: 'checkpoints', batch }) as Promise<AppendResult>;
  }

  async write(batch: Trace[]): Promise<void> {
    await this.call({ op: 'traces', batch });
  }

  /**
   * SessionStore.claimSession on the worker's connection: the main thread never waits for SQLite's
   * write lock. A new session is claimed on every request that starts one, so the claims of one
   * event-loop turn go to the worker as one message and are stored in one transaction: a message
   * and a commit per claim cost more CPU than the rest of the write-behind together.
   */
  claimSession(sessionId: string, agent: string, patId: string, at: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (this.claims.length === 0) setImmediate(() => this.sendClaims());
      this.claims.push({ claim: [sessionId, agent, patId, at], resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private sendClaims(): void {
    const batch = this.claims;
    this.claims = [];
    if (batch.length === 0) return;
    this.call({ op: 'claims', claims: batch.map((c) => c.claim) }).then(
      (value) => {
        const outcomes = value as ClaimOutcome[];
        batch.forEach((c, i) => {
          const o = outcomes[i];
          if (o && 'owner' in o) c.resolve(o.owner);
          else c.reject(o ? toError(o.error) : new Error('sqlite writer: no answer for a session claim'));
        });
      },
      (err: Error) => {
        for (const c of batch) c.reject(err);
      },
    );
  }

  /** SessionStore.prune on the worker's connection: retention's deletes never run on the event loop. */
  prune(opts: PruneOptions): Promise<PruneCounts> {
    return this.call({ op: 'prune', opts }) as Promise<PruneCounts>;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.postMessage({ op: 'close' });
      setTimeout(() => void w.terminate(), 5_000).unref();
    });
  }

  private async call(req: WriterRequestInput): Promise<unknown> {
    if (this.closed) throw new Error('sqlite writer is closed');
    await this.start();
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.postMessage({ ...req, id });
    });
  }

  /** Starts the worker on first use, and again after it died (its pending writes were failed, so retried). */
  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(workerPath(), { workerData: { path: this.path } });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WriterReply | { ready: true }) => {
        if ('ready' in m) return resolve();
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(toError(m));
      });
      const fail = (err: Error) => {
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.worker === worker) {
          this.worker = null;
          this.ready = null;
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`sqlite writer exited (${code})`)));
    });
    return this.ready;
  }
}

function toError(f: WriterFailure): Error {
  return f.data ? new StoreDataError(f.message, { code: f.code }) : Object.assign(new Error(f.message), { code: f.code });
}

/**
 * Whether SQLite refused a write for the values in it (see src/stores/errors.ts): a constraint (NOT
 * NULL, CHECK, UNIQUE), a type mismatch, a value over SQLite's size limit, or a value the driver
 * cannot bind. Busy, locked, I/O, disk full, read-only and the like are availability and retried.
 */
export function isSqliteDataError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
  }
  // better-sqlite3 checks bound values itself: "SQLite3 can only bind numbers, strings, bigints,
  // buffers, and null", "The bound … is too large".
  return (err instanceof TypeError || err instanceof RangeError) && /\bbind|bound\b/i.test(err.message);
}
