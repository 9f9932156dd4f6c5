// Directive resolver (seed milestone 2.3.2). Versions are immutable, so a (agent, version) row is cached
// forever; only "which version is current" can change. That is refreshed by push (bus topic
// 'directive', published by whoever wrote the new version) and by a cheap poll of the store's current
// versions every pollIntervalMs, which catches writes from other processes (the CLI, other replicas).
// On the hot path, current(agent) is a Map lookup; only an agent's first request reads the store.
import { LRUCache } from 'lru-cache';
import type { Bus, Directive, DirectiveStore } from '../stores/ports.js';
import type { DirectiveCache } from '../stores/memory/directive-cache.js';

export interface DirectiveChange {
  agent: string;
  version: number;
}

export interface DirectiveResolverOptions {
  store: DirectiveStore;
  bus: Bus;
  pollIntervalMs: number;
  /**
   * A cache shared between replicas (Redis), asked before the store on a miss. Its answers are hints:
   * a stale "current" is corrected by the next poll, and a failing cache is only a miss.
   */
  shared?: DirectiveCache;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export class DirectiveResolver {
  /** agent → current directive, or null when the agent has none (also cached: no store read per request) */
  private readonly current = new Map<string, Directive | null>();
  private readonly versions = new LRUCache<string, Directive>({ max: 10_000 });
  private readonly loading = new Map<string, Promise<Directive | null>>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private polling = false;
  private readonly opts: DirectiveResolverOptions;

  constructor(opts: DirectiveResolverOptions) {
    this.opts = opts;
  }

  start(): void {
    this.unsubscribe = this.opts.bus.subscribe('directive', (msg) => {
      const m = msg as DirectiveChange;
      if (m && typeof m.agent === 'string' && typeof m.version === 'number') void this.apply(m.agent, m.version);
    });
    this.timer = setInterval(() => void this.poll(), this.opts.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.timer = null;
    this.unsubscribe = null;
  }

  /** The agent's current directive (null if it has none). Throws only when the store cannot answer on a miss. */
  resolve(agent: string): Promise<Directive | null> | Directive | null {
    const hit = this.current.get(agent);
    if (hit !== undefined) return hit;
    let p = this.loading.get(agent);
    if (!p) {
      p = this.loadCurrent(agent)
        .then((d) => {
          // a push may have landed a newer version while we were reading
          const now = this.current.get(agent);
          if (now === undefined || (d && now && d.version > now.version) || (d && now === null)) this.setCurrent(agent, d);
          return this.current.get(agent) ?? null;
        })
        .finally(() => this.loading.delete(agent));
      this.loading.set(agent, p);
    }
    return p;
  }

  private async loadCurrent(agent: string): Promise<Directive | null> {
    const shared = this.opts.shared;
    if (shared) {
      const version = await shared.getCurrent(agent);
      if (version !== null) {
        const d = await this.version(agent, version);
        if (d) return d;
      }
    }
    const d = await this.opts.store.current(agent);
    if (d && shared) {
      void shared.set(d);
      void shared.setCurrent(agent, d.version);
    }
    return d;
  }

  /** An immutable version: from this process, the shared cache, or the store. */
  private async version(agent: string, version: number): Promise<Directive | null> {
    const local = this.versions.get(key(agent, version));
    if (local) return local;
    const cached = await this.opts.shared?.get(agent, version);
    if (cached) return cached;
    const d = await this.opts.store.get(agent, version);
    if (d) void this.opts.shared?.set(d);
    return d;
  }

  /** Called after this process wrote a version: use it at once and tell the other processes. */
  async announce(d: Directive): Promise<void> {
    this.versions.set(key(d.agent, d.version), d);
    this.setCurrent(d.agent, d);
    await this.opts.bus.publish('directive', { agent: d.agent, version: d.version } satisfies DirectiveChange).catch(() => {});
  }

  private setCurrent(agent: string, d: Directive | null): void {
    if (d) this.versions.set(key(agent, d.version), d);
    this.current.set(agent, d);
  }

  private async apply(agent: string, version: number): Promise<void> {
    const cur = this.current.get(agent);
    if (cur === undefined) return; // not in use here: loaded on first request
    if (cur && cur.version >= version) return;
    const d = await this.version(agent, version);
    if (!d) return;
    void this.opts.shared?.setCurrent(agent, d.version);
    const again = this.current.get(agent);
    if (!again || again.version < d.version) this.setCurrent(agent, d);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.current.size === 0) return;
    this.polling = true;
    try {
      const versions = await this.opts.store.currentVersions();
      const updates: Promise<void>[] = [];
      for (const [agent, version] of versions) updates.push(this.apply(agent, version));
      await Promise.all(updates);
    } catch (err) {
      this.opts.log?.('warn', `directive poll failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }
}

const key = (agent: string, version: number) => `${agent}\u0000${version}`;
