// The gateway's trace output: emit() is called once per request after the reply, costs a field copy
// and an array push, and never waits for the trace store. Traces reach the sink through a
// BatchQueue (batched, one write in flight, spooled to disk while the store is down) and the live
// bus (`ibex tail`, /admin/v1/events), fire-and-forget.
import type { Bus, Trace, TraceSink } from '../stores/ports.js';
import { BATCH_QUEUE_DEFAULTS, BatchQueue, type BatchQueueOptions, type BatchQueueStats } from './batch-queue.js';
import { sanitizeTrace } from './sanitize.js';
import { ThrottledLog, type LogFn } from './log-throttle.js';

export interface TraceEmitterOptions extends Omit<BatchQueueOptions<Trace>, 'name' | 'write' | 'spoolDir' | 'log'> {
  /** Only its writes: the emitter never reads traces back. */
  sink: Pick<TraceSink, 'write'>;
  /** Live-event bus; a failed publish is ignored (the stored trace is the record). */
  bus?: Bus;
  /** Where traces the sink did not take wait, e.g. `$IBEX_HOME/spool/traces` */
  spoolDir: string;
  log?: LogFn;
  /** Queue name, also the spool file prefix (default `traces`) */
  name?: string;
}

const TRACE_MERGE_BATCHES = 10;

export class TraceEmitter {
  private readonly queue: BatchQueue<Trace>;
  private readonly bus: Bus | undefined;
  private busErrors = 0;
  private invalid = 0;
  private readonly invalidLog: ThrottledLog;

  constructor(opts: TraceEmitterOptions) {
    const { sink, bus, spoolDir, log, name, ...queueOpts } = opts;
    this.bus = bus;
    this.invalidLog = new ThrottledLog(log ?? (() => undefined), 10_000);
    const batchSize = queueOpts.batchSize ?? BATCH_QUEUE_DEFAULTS.batchSize;
    this.queue = new BatchQueue<Trace>({
      // Traces are small and ClickHouse pays ~85 ms per insert whatever its size: a backlog
      // goes out in writes of up to 10 batches, which is what lets the queue catch up.
      maxWriteItems: batchSize * TRACE_MERGE_BATCHES,
      ...queueOpts,
      name: name ?? 'traces',
      spoolDir,
      log,
      write: (batch) => sink.write(batch),
    });
  }

  /** Enqueues the trace and publishes it live. Sync; never throws. */
  emit(trace: Trace): void {
    let clean: Trace;
    try {
      clean = sanitizeTrace(trace);
    } catch (err) {
      // Not copyable (a hostile toString?): never stored raw, but counted and logged, not lost silently.
      this.invalid++;
      this.invalidLog.hit('error', 1, (n) => `traces: ${n} trace(s) could not be copied and were dropped: ${(err as Error).message}`);
      return;
    }
    this.queue.push(clean);
    if (!this.bus) return;
    try {
      this.bus.publish('trace', clean).catch(() => {
        this.busErrors++;
      });
    } catch {
      this.busErrors++;
    }
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  close(timeoutMs?: number): Promise<void> {
    return this.queue.close(timeoutMs);
  }

  /** The queue's counters; `dropped` includes traces that could not be copied. */
  stats(): BatchQueueStats & { busErrors: number } {
    const q = this.queue.stats();
    return { ...q, dropped: q.dropped + this.invalid, busErrors: this.busErrors };
  }
}
