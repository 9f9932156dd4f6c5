// What the mock saw, for tests: counters, the last request and a bounded ring of recent
// ones (headers + parsed body). Bounded so a long bench run cannot grow memory.

import type { IncomingHttpHeaders } from 'node:http';

export interface RecordedRequest {
  /** 1-based arrival number among all requests this mock received */
  seq: number;
  method: string;
  /** path without the query string, e.g. `/v1/chat/completions` */
  path: string;
  /** Node's lower-cased header object, as received */
  headers: IncomingHttpHeaders;
  /** parsed JSON body when it was a JSON object; undefined otherwise */
  body: Record<string, unknown> | undefined;
  /** the raw body text, only kept when it could not be parsed into an object */
  rawBody?: string;
  /** Date.now() when the body was fully received */
  receivedAt: number;
}

type Waiter = { predicate: (s: MockStats) => boolean; resolve: () => void };

export class MockStats {
  /** every HTTP request received, any route */
  requests = 0;
  /** requests whose response has not closed yet */
  inflight = 0;
  /** responses fully written */
  completed = 0;
  /** responses whose connection closed before the response was complete (client abort) */
  aborted = 0;
  /** injected failures (failRate, x-mock-fail) */
  failed = 0;
  /** sockets the mock destroyed on purpose (x-mock-reset) */
  resets = 0;
  /** requests refused as invalid (400/413) */
  invalid = 0;
  lastRequest: RecordedRequest | undefined;

  private readonly ring: (RecordedRequest | undefined)[];
  private ringNext = 0;
  private waiters: Waiter[] = [];

  constructor(readonly recentLimit = 100) {
    this.ring = new Array(Math.max(1, recentLimit));
  }

  /** Recent requests, oldest first (at most `recentLimit`). */
  get recent(): RecordedRequest[] {
    const out: RecordedRequest[] = [];
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const r = this.ring[(this.ringNext + i) % n];
      if (r) out.push(r);
    }
    return out;
  }

  record(r: RecordedRequest): void {
    this.lastRequest = r;
    this.ring[this.ringNext] = r;
    this.ringNext = (this.ringNext + 1) % this.ring.length;
    this.changed();
  }

  /** Zero the counters and forget recorded requests (in-flight ones are still counted). */
  reset(): void {
    this.requests = 0;
    this.completed = 0;
    this.aborted = 0;
    this.failed = 0;
    this.resets = 0;
    this.invalid = 0;
    this.lastRequest = undefined;
    this.ring.fill(undefined);
    this.ringNext = 0;
  }

  /**
   * Resolves as soon as `predicate(stats)` holds (checked now and after every change),
   * rejects after `timeoutMs`. For tests like "the upstream request ended after the
   * client aborted": `await mock.stats.waitFor((s) => s.aborted === 1)`.
   */
  waitFor(predicate: (s: MockStats) => boolean, timeoutMs = 2000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`mock stats condition not met within ${timeoutMs} ms: ${JSON.stringify(this.snapshot())}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Plain counters, e.g. for logs or assertions messages. */
  snapshot(): Record<string, number> {
    const { requests, inflight, completed, aborted, failed, resets, invalid } = this;
    return { requests, inflight, completed, aborted, failed, resets, invalid };
  }

  /** Called by the server after every counter change; cheap when nobody waits. */
  changed(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    const done: Waiter[] = [];
    for (const w of this.waiters) (w.predicate(this) ? done : still).push(w);
    this.waiters = still;
    for (const w of done) w.resolve();
  }
}
