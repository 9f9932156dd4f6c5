// Fixed-window rate limiter shared by every replica through Redis.
//
// One key per (key, window): `${prefix}rl:${key}:${windowStart}`, incremented by a Lua script so
// INCR and the expiry are atomic and cost one round trip (EVALSHA; EVAL once after a SCRIPT FLUSH).
// The window start comes from this process's clock: replicas need roughly synchronised clocks
// (NTP), and keys live a little past their window so a lagging replica still counts into the
// same key instead of recreating it.
//
// FAIL OPEN: when Redis is down or slower than the command timeout, `hit` allows the request.
// Losing rate limiting for the length of an outage is better than failing every request.
import type { Redis } from 'ioredis';
import type { RateLimiter, RateLimitResult } from '../ports.js';
import { DEFAULT_REDIS_PREFIX } from './connection.js';

export interface RedisRateLimiterOptions {
  /** Key prefix isolating this deployment (or test run). Default `ibex:`. */
  prefix?: string;
  /** Called on every failed-open hit; the caller throttles its own logging. */
  onFailOpen?: (err: Error) => void;
  /** Clock in epoch ms (tests). */
  now?: () => number;
  /** Extra lifetime of a window key past its window, in ms, to absorb clock skew. Default 1 000. */
  expirySlackMs?: number;
}

// Returns the count after this hit. PEXPIRE only on creation: later hits must not extend the key.
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

const COMMAND = 'ibexRateLimitHit';

type WithHitCommand = Redis & { [COMMAND]: (key: string, ttlMs: number) => Promise<number> };

export class RedisRateLimiter implements RateLimiter {
  /** Hits answered "allowed" because Redis could not be asked (exported as a metric). */
  failOpenCount = 0;
  private readonly client: WithHitCommand;
  private readonly prefix: string;
  private readonly onFailOpen: (err: Error) => void;
  private readonly now: () => number;
  private readonly slackMs: number;

  constructor(client: Redis, opts: RedisRateLimiterOptions = {}) {
    if (typeof (client as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
      client.defineCommand(COMMAND, { numberOfKeys: 1, lua: HIT_SCRIPT });
    }
    this.client = client as WithHitCommand;
    this.prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
    this.onFailOpen = opts.onFailOpen ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.slackMs = opts.expirySlackMs ?? 1000;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = this.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const resetMs = windowStart + windowMs - now;
    let count: number;
    try {
      count = Number(await this.client[COMMAND](`${this.prefix}rl:${key}:${windowStart}`, resetMs + this.slackMs));
    } catch (err) {
      this.failOpenCount += 1;
      try {
        this.onFailOpen(err instanceof Error ? err : new Error(String(err)));
      } catch {
        // a logging callback must not turn a fail-open into a failed request
      }
      return { allowed: true, limit, remaining: limit, resetMs };
    }
    return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetMs };
  }
}
