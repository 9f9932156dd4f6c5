// Fixed-window rate limiter held in this process's memory.
//
// IMPORTANT: in-process limits are PER PROCESS. With N gateway replicas each one counts on its
// own, so a client can get up to N × limit per window. Configure IBEX_REDIS_URL to share counters.
import type { RateLimiter, RateLimitResult } from '../ports.js';

export interface MemoryRateLimiterOptions {
  /** Clock in epoch ms; injectable so tests can cross window boundaries without sleeping. */
  now?: () => number;
  /** How often expired windows are swept out, in ms. Default 10 000. */
  sweepIntervalMs?: number;
}

interface Window {
  start: number;
  end: number;
  count: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: MemoryRateLimiterOptions = {}) {
    this.now = opts.now ?? Date.now;
    // Without a sweep, every key ever seen (one per PAT/agent) would stay in memory forever.
    // unref(): the sweep must never keep the process alive on its own.
    this.sweeper = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = this.now();
    const start = Math.floor(now / windowMs) * windowMs;
    let w = this.windows.get(key);
    if (w === undefined || w.start !== start || w.end !== start + windowMs) {
      w = { start, end: start + windowMs, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    return {
      allowed: w.count <= limit,
      limit,
      remaining: Math.max(0, limit - w.count),
      resetMs: w.end - now,
    };
  }

  /** Drops every window that has ended. O(keys), run off the request path. */
  sweep(): void {
    const now = this.now();
    for (const [key, w] of this.windows) {
      if (w.end <= now) this.windows.delete(key);
    }
  }

  /** Number of keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.windows.clear();
  }
}
