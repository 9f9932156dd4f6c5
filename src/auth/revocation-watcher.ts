// Makes revocations reach this process's caches: push (the bus, and the auth server's gRPC stream)
// for speed, a poll of the revocation log every ≤ 1 s as the backstop that makes the 5 s guarantee
// hold when a push is lost. Every event is applied once, whichever source brings it first.
//
// Dedupe key: kind + subject + seq, not seq alone, so two sources reading different logs (a local
// one and the auth server's) can never make us skip an event just because the numbers collide.
import { LRUCache } from 'lru-cache';
import type { Bus, RevocationEvent, RevocationLog } from '../stores/ports.js';
import { DelayRecorder, type DelaySummary } from './delay-recorder.js';

/** An extra push source (the gRPC stream). It tracks its own cursor and reconnects by itself. */
export interface RevocationStream {
  name: string;
  /** Starts delivering; returns a stop function. */
  start(onEvent: (event: RevocationEvent) => void): () => void;
}

export interface RevocationTargets {
  authCache: { evictHash(hash: string): void; clear(): void };
  agentCache: { evict(name: string): void; clear(): void };
}

export interface RevocationWatcherOptions extends RevocationTargets {
  revocations?: RevocationLog;
  bus?: Bus;
  streams?: RevocationStream[];
  /** Poll interval of the revocation log; at most 1000 ms. Default 1000. */
  pollIntervalMs?: number;
  log?: (line: string) => void;
  /** Every applied event's delay (now − event.at), e.g. into Prometheus. */
  onPropagation?: (ms: number) => void;
  now?: () => number;
}

export interface RevocationWatcherStats {
  applied: number;
  duplicates: number;
  /** Events applied per source (first to deliver wins): 'poll', 'bus', or a stream's name */
  bySource: Record<string, number>;
  /** Revocation log cursor of the poll (null until head() answered) */
  cursor: number | null;
  pollErrors: number;
  /** now − event.at of applied events, ms */
  delayMs: DelaySummary;
}

export function isRevocationEvent(m: unknown): m is RevocationEvent {
  const e = m as RevocationEvent | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isFinite(e.seq) &&
    (e.kind === 'pat' || e.kind === 'agent') &&
    typeof e.subject === 'string' &&
    e.subject.length > 0 &&
    Number.isFinite(e.at)
  );
}

export class RevocationWatcher {
  private readonly opts: RevocationWatcherOptions;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly pollIntervalMs: number;
  private readonly seen = new LRUCache<string, true>({ max: 10_000 });
  private readonly delays = new DelayRecorder();
  private readonly bySource: Record<string, number> = {};
  private applied = 0;
  private duplicates = 0;
  private pollErrors = 0;
  private pollFailing = false;
  private cursor: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stops: Array<() => void> = [];
  private stopped = true;
  private polling: Promise<void> | null = null;

  constructor(opts: RevocationWatcherOptions) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.pollIntervalMs = Math.min(opts.pollIntervalMs ?? 1000, 1000);
  }

  /**
   * Subscribes to the pushes, then reads the log's head to poll from "now" (the caches start empty,
   * so older events are irrelevant). If head() fails, the poll retries it — and clears the caches
   * when it finally answers, since events between start and then were not read.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.opts.bus) {
      this.stops.push(
        this.opts.bus.subscribe('revocation', (msg) => {
          if (isRevocationEvent(msg)) this.apply(msg, 'bus');
        }),
      );
    }
    for (const stream of this.opts.streams ?? []) {
      this.stops.push(stream.start((e) => this.apply(e, stream.name)));
    }
    if (this.opts.revocations) {
      try {
        this.cursor = await this.opts.revocations.head();
      } catch (err) {
        this.noteFailure(err);
      }
      this.schedulePoll();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const stop of this.stops.splice(0)) stop();
    await this.polling;
  }

  /** Applies one event unless already applied. Returns whether it was new. */
  apply(event: RevocationEvent, source: string): boolean {
    // seq < 0: an ad-hoc push that is not in the log (e.g. `agent enable` asking caches to
    // re-read); there is nothing to dedupe against, and evicting twice is harmless.
    if (event.seq >= 0) {
      const key = `${event.kind}\u0000${event.subject}\u0000${event.seq}`;
      if (this.seen.has(key)) {
        this.duplicates++;
        return false;
      }
      this.seen.set(key, true);
    }
    if (event.kind === 'pat') this.opts.authCache.evictHash(event.subject);
    else this.opts.agentCache.evict(event.subject);
    this.applied++;
    this.bySource[source] = (this.bySource[source] ?? 0) + 1;
    const delay = this.now() - event.at;
    this.delays.record(delay);
    this.opts.onPropagation?.(delay);
    return true;
  }

  /** One poll now (also what the timer runs); resolves when done. */
  pollOnce(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  stats(): RevocationWatcherStats {
    return {
      applied: this.applied,
      duplicates: this.duplicates,
      bySource: { ...this.bySource },
      cursor: this.cursor,
      pollErrors: this.pollErrors,
      delayMs: this.delays.summary(),
    };
  }

  private async poll(): Promise<void> {
    const log = this.opts.revocations;
    if (!log) return;
    try {
      if (this.cursor === null) {
        this.cursor = await log.head();
        // Events between start() and now were never read: anything cached meanwhile may be stale.
        this.opts.authCache.clear();
        this.opts.agentCache.clear();
      }
      for (;;) {
        const page = await log.since(this.cursor);
        for (const e of page) {
          this.apply(e, 'poll');
          this.cursor = Math.max(this.cursor, e.seq);
        }
        if (page.length === 0 || this.stopped) break;
      }
      if (this.pollFailing) this.log('auth: revocation log reachable again');
      this.pollFailing = false;
    } catch (err) {
      this.noteFailure(err);
    }
  }

  private noteFailure(err: unknown): void {
    this.pollErrors++;
    if (!this.pollFailing) {
      this.log(`auth: revocation log unavailable (${(err as Error).message}); retrying every ${this.pollIntervalMs} ms`);
    }
    this.pollFailing = true;
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => this.schedulePoll());
    }, this.pollIntervalMs);
    this.timer.unref();
  }
}
