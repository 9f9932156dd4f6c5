// Directive cache shared by every replica through Redis (see DirectiveCache for the semantics).
//
// Keys: `${prefix}dir:v:${agent}:${version}` → JSON of the Directive (immutable, long TTL) and
// `${prefix}dir:cur:${agent}` → current version (short TTL). Every failure is reported to
// `onError` and answered as a miss: the caller then reads the DirectiveStore, which is the truth.
import type { Redis } from 'ioredis';
import type { Directive } from '../ports.js';
import type { DirectiveCache } from '../memory/directive-cache.js';
import { DEFAULT_REDIS_PREFIX } from './connection.js';

export interface RedisDirectiveCacheOptions {
  /** Key prefix isolating this deployment (or test run). Default `ibex:`. */
  prefix?: string;
  /** TTL of the current-version entries, ms. Default 5 000. */
  currentTtlMs?: number;
  /** TTL of directive versions, ms. They never change; the TTL only lets unused ones age out. Default 7 days. */
  versionTtlMs?: number;
  /** Redis errors (each one is also answered as a miss). */
  onError?: (err: Error, op: string) => void;
}

// Sets the current version unless a higher one is cached: versions only grow.
const SET_CURRENT_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]))
local v = tonumber(ARGV[1])
if cur == nil or v >= cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

const COMMAND = 'ibexDirectiveSetCurrent';

type WithSetCurrent = Redis & { [COMMAND]: (key: string, version: number, ttlMs: number) => Promise<number> };

export class RedisDirectiveCache implements DirectiveCache {
  private readonly client: WithSetCurrent;
  private readonly prefix: string;
  private readonly currentTtlMs: number;
  private readonly versionTtlMs: number;
  private readonly onError: (err: Error, op: string) => void;

  constructor(client: Redis, opts: RedisDirectiveCacheOptions = {}) {
    if (typeof (client as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
      client.defineCommand(COMMAND, { numberOfKeys: 1, lua: SET_CURRENT_SCRIPT });
    }
    this.client = client as WithSetCurrent;
    this.prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
    this.currentTtlMs = opts.currentTtlMs ?? 5000;
    this.versionTtlMs = opts.versionTtlMs ?? 7 * 24 * 3600 * 1000;
    this.onError = opts.onError ?? (() => {});
  }

  async get(agent: string, version: number): Promise<Directive | null> {
    try {
      const raw = await this.client.get(this.versionKey(agent, version));
      if (raw === null) return null;
      const parsed = JSON.parse(raw) as Partial<Directive>;
      // Anything not shaped like what we wrote (another writer, a bug) is a miss, not a wrong answer.
      if (parsed.agent !== agent || parsed.version !== version || typeof parsed.text !== 'string') return null;
      return parsed as Directive;
    } catch (err) {
      return this.miss(err, 'get');
    }
  }

  async set(directive: Directive): Promise<void> {
    try {
      const value = JSON.stringify({
        agent: directive.agent,
        version: directive.version,
        text: directive.text,
        sha256: directive.sha256,
        createdAt: directive.createdAt,
      } satisfies Directive);
      await this.client.set(this.versionKey(directive.agent, directive.version), value, 'PX', this.versionTtlMs);
    } catch (err) {
      this.miss(err, 'set');
    }
  }

  async getCurrent(agent: string): Promise<number | null> {
    try {
      const raw = await this.client.get(this.currentKey(agent));
      if (raw === null) return null;
      const version = Number(raw);
      return Number.isSafeInteger(version) && version > 0 ? version : null;
    } catch (err) {
      return this.miss(err, 'getCurrent');
    }
  }

  async setCurrent(agent: string, version: number): Promise<void> {
    try {
      await this.client[COMMAND](this.currentKey(agent), version, this.currentTtlMs);
    } catch (err) {
      this.miss(err, 'setCurrent');
    }
  }

  async invalidateCurrent(agent: string): Promise<void> {
    try {
      await this.client.del(this.currentKey(agent));
    } catch (err) {
      this.miss(err, 'invalidateCurrent');
    }
  }

  private versionKey(agent: string, version: number): string {
    return `${this.prefix}dir:v:${agent}:${version}`;
  }

  private currentKey(agent: string): string {
    return `${this.prefix}dir:cur:${agent}`;
  }

  private miss(err: unknown, op: string): null {
    try {
      this.onError(err instanceof Error ? err : new Error(String(err)), op);
    } catch {
      // a logging hook must not turn a miss into an error
    }
    return null;
  }
}
