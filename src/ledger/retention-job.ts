// The gateway's retention job: every interval, one bounded prune of the relational store (at most
// maxBatches deletes of batchSize rows per table, with a pause between them); what is left waits
// for the next run. ClickHouse traces expire on their own (table TTL, or the sink's hourly partition
// drops on servers without TTL), so traces are pruned here only when they live in the relational store.
import type { PruneCounts, PruneOptions } from '../stores/ports.js';
import type { RetentionSettings } from './retention-settings.js';

export interface RetentionJobOptions {
  prune(opts: PruneOptions): Promise<PruneCounts>;
  settings: RetentionSettings;
  /** Whether traces are in the relational store (no ClickHouse) */
  relationalTraces: boolean;
  /** Default 10 minutes */
  intervalMs?: number;
  /** Before the first run; default 1 minute (start-up is busy enough) */
  firstRunMs?: number;
  batchSize?: number;
  maxBatches?: number;
  pauseMs?: number;
  log: (level: 'info' | 'warn', line: string) => void;
  now?: () => number;
}

export interface RetentionJob {
  /** One run now (the timer's runs never overlap with it) */
  run(): Promise<PruneCounts | null>;
  stop(): Promise<void>;
}

export function pruneCutoffs(settings: RetentionSettings, relationalTraces: boolean, now: number): Pick<PruneOptions, 'tracesBefore' | 'sessionsBefore'> {
  return {
    tracesBefore: relationalTraces ? now - settings.tracesMs : undefined,
    sessionsBefore: settings.sessionsMs === null ? undefined : now - settings.sessionsMs,
  };
}

export function startRetentionJob(o: RetentionJobOptions): RetentionJob {
  let running: Promise<PruneCounts | null> | null = null;
  let stopped = false;
  const run = () =>
    (running ??= (async () => {
      try {
        const counts = await o.prune({
          ...pruneCutoffs(o.settings, o.relationalTraces, (o.now ?? Date.now)()),
          batchSize: o.batchSize ?? 5000,
          maxBatches: o.maxBatches ?? 100,
          pauseMs: o.pauseMs ?? 50,
        });
        const deleted = Object.entries(counts).filter(([, n]) => n > 0);
        if (deleted.length) o.log('info', `retention: deleted ${deleted.map(([t, n]) => `${n} ${t}`).join(', ')}`);
        return counts;
      } catch (err) {
        o.log('warn', `retention: prune failed, will retry: ${(err as Error).message}`);
        return null;
      } finally {
        running = null;
      }
    })());
  const first = setTimeout(() => {
    if (!stopped) void run();
  }, o.firstRunMs ?? 60_000);
  const timer = setInterval(() => {
    if (!stopped) void run();
  }, o.intervalMs ?? 600_000);
  first.unref();
  timer.unref();
  return {
    run,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
