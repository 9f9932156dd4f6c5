// Agents by name for the agent-verify stage: an LRU over AgentStore.get.
//
// Disabling an agent appends a revocation event, so RevocationWatcher evicts it everywhere within
// seconds and an enabled agent can be cached long (TTL is a safety net). Enabling appends nothing,
// so a disabled or unknown agent is cached only briefly: re-enabling takes effect within that TTL.
import { LRUCache } from 'lru-cache';
import type { Agent, AgentStore } from '../stores/ports.js';
import { withDeadline } from '../util/deadline.js';

export interface AgentCacheOptions {
  /** Agents kept. Default 1000. */
  maxEntries?: number;
  /** Lifetime of a cached enabled agent. Default 60 s. */
  enabledTtlMs?: number;
  /** Lifetime of a cached disabled or unknown agent (how long `agent enable` may take). Default 5 s. */
  disabledTtlMs?: number;
  /** How long to wait for the store. Default 1000 ms. */
  deadlineMs?: number;
}

export interface AgentCacheStats {
  hits: number;
  lookups: number;
  size: number;
}

export class AgentCache {
  private readonly cache: LRUCache<string, { agent: Agent | null }>;
  private readonly inflight = new Map<string, Promise<Agent | null>>();
  private readonly enabledTtlMs: number;
  private readonly disabledTtlMs: number;
  private readonly deadlineMs: number;
  /** Bumped by every eviction: a lookup that overlapped one does not cache its (maybe stale) answer. */
  private epoch = 0;
  private hits = 0;
  private lookups = 0;

  constructor(
    private readonly store: AgentStore,
    opts: AgentCacheOptions = {},
  ) {
    this.enabledTtlMs = opts.enabledTtlMs ?? 60_000;
    this.disabledTtlMs = opts.disabledTtlMs ?? 5_000;
    this.deadlineMs = opts.deadlineMs ?? 1000;
    this.cache = new LRUCache({ max: opts.maxEntries ?? 1000 });
  }

  /** The agent, or null when unknown. Throws when the store cannot answer. */
  get(name: string): Promise<Agent | null> {
    const hit = this.cache.get(name);
    if (hit !== undefined) {
      this.hits++;
      return Promise.resolve(hit.agent);
    }
    const running = this.inflight.get(name);
    if (running) return running;
    const flight = this.fetch(name).finally(() => {
      if (this.inflight.get(name) === flight) this.inflight.delete(name);
    });
    this.inflight.set(name, flight);
    return flight;
  }

  private async fetch(name: string): Promise<Agent | null> {
    // Two attempts: if an eviction (agent disabled) lands while the first read is in flight, that
    // read may predate the change, so read again; the second answer is returned but cached only if
    // no further eviction overlapped it.
    for (let attempt = 0; ; attempt++) {
      const epoch = this.epoch;
      this.lookups++;
      const agent = await withDeadline(this.store.get(name), this.deadlineMs, 'agent store');
      if (epoch === this.epoch) {
        const ttl = agent?.enabled ? this.enabledTtlMs : this.disabledTtlMs;
        this.cache.set(name, { agent: agent ? Object.freeze({ ...agent }) : null }, { ttl });
        return agent;
      }
      if (attempt >= 1) return agent;
    }
  }

  evict(name: string): void {
    this.epoch++;
    this.cache.delete(name);
    this.inflight.delete(name);
  }

  clear(): void {
    this.epoch++;
    this.cache.clear();
    this.inflight.clear();
  }

  stats(): AgentCacheStats {
    return { hits: this.hits, lookups: this.lookups, size: this.cache.size };
  }
}
