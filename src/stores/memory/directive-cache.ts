// A cache of directives in front of the DirectiveStore, so the hot path does not hit the
// database for every request.
//
// Two kinds of entries with different lifetimes:
// - a directive version (agent, version) is immutable, so it can be kept until evicted;
// - the *current* version of an agent changes when someone runs `ibex directive set`, so it is
//   kept only briefly (other processes' writes become visible within the TTL even if the bus
//   push is missed).
import { LRUCache } from 'lru-cache';
import type { Directive } from '../ports.js';

/**
 * Shared by the in-process and Redis caches. A cache never fails a request: every read resolves
 * `null` both on a miss and when the cache cannot answer, and writes never reject.
 */
export interface DirectiveCache {
  /** The cached directive (agent, version), or null (miss or cache unavailable). */
  get(agent: string, version: number): Promise<Directive | null>;
  /** Caches an immutable directive version. */
  set(directive: Directive): Promise<void>;
  /** The cached current version of `agent`, or null (miss, expired or cache unavailable). */
  getCurrent(agent: string): Promise<number | null>;
  /**
   * Records `version` as the current one for a short TTL. Versions only grow, so a lower version
   * never replaces a cached higher one (a slow writer cannot roll the cache back).
   */
  setCurrent(agent: string, version: number): Promise<void>;
  /** Forgets the cached current version of `agent` (e.g. on a `directive` bus message). */
  invalidateCurrent(agent: string): Promise<void>;
}

export interface MemoryDirectiveCacheOptions {
  /** TTL of the current-version entries in ms. Default 5 000. */
  currentTtlMs?: number;
  /** Max directive versions kept. Default 5 000. */
  maxVersions?: number;
  /** Max total text held, in characters. Default 32 Mi. */
  maxTextChars?: number;
  /** Clock in ms for TTLs (tests). */
  now?: () => number;
}

export class MemoryDirectiveCache implements DirectiveCache {
  private readonly versions: LRUCache<string, Directive>;
  private readonly current: LRUCache<string, number>;

  constructor(opts: MemoryDirectiveCacheOptions = {}) {
    const perf = opts.now ? { now: opts.now } : undefined;
    this.versions = new LRUCache<string, Directive>({
      max: opts.maxVersions ?? 5000,
      maxSize: opts.maxTextChars ?? 32 * 1024 * 1024,
      sizeCalculation: (d) => d.text.length + d.agent.length + 1,
    });
    this.current = new LRUCache<string, number>({
      max: 10_000,
      ttl: opts.currentTtlMs ?? 5000,
      ...(perf ? { perf } : {}),
    });
  }

  async get(agent: string, version: number): Promise<Directive | null> {
    return this.versions.get(versionKey(agent, version)) ?? null;
  }

  async set(directive: Directive): Promise<void> {
    this.versions.set(versionKey(directive.agent, directive.version), { ...directive });
  }

  async getCurrent(agent: string): Promise<number | null> {
    return this.current.get(agent) ?? null;
  }

  async setCurrent(agent: string, version: number): Promise<void> {
    const cached = this.current.get(agent);
    if (cached !== undefined && cached > version) return;
    this.current.set(agent, version);
  }

  async invalidateCurrent(agent: string): Promise<void> {
    this.current.delete(agent);
  }
}

// JSON of the pair cannot collide whatever characters the agent name holds.
function versionKey(agent: string, version: number): string {
  return JSON.stringify([agent, version]);
}
