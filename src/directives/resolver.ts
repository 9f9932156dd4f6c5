// Directive resolver: which directive version a request is served (issue 15: directives run like
// deployments). Versions are immutable, so a (agent, version) row is cached forever; what changes is
// each agent's deploy state (stable version, canary, rollout floor, prompt caching: DirectiveDeploy),
// refreshed by push (bus topic 'directive', published by whoever changed it) and by a cheap poll of
// every agent's state every pollIntervalMs, which catches changes from other processes.
//
// The rules (docs/directives-and-sessions.md):
// - a new session gets the canary when its bucket (split.ts) is below the canary's percent, else the
//   stable version; with no canary, the latest version;
// - an existing session keeps the version it started with (its sessions row, written with its first
//   checkpoint; remembered here in an LRU), raised to the agent's floor by an all-sessions rollout;
// - during a canary rolled out to all sessions, every session is split by its bucket.
// On the hot path this is Map/LRU lookups; the store is read on an agent's first request, and once per
// existing session per process when that session could be on an older version than a new one.
import { LRUCache } from 'lru-cache';
import type { Bus, Directive, DirectiveDeploy, DirectiveStore } from '../stores/ports.js';
import type { DirectiveCache } from '../stores/memory/directive-cache.js';
import { inCanary } from './split.js';

export interface DirectiveChange {
  agent: string;
  version?: number;
  /** The deploy state's revision after the change (absent from older publishers) */
  revision?: number;
}

/** What the directive stage serves a request. */
export interface ServedDirective {
  directive: Directive;
  /** The agent opted in to provider prompt caching (OpenAI prompt_cache_key, Anthropic cache_control) */
  promptCache: boolean;
}

export interface DirectiveResolverOptions {
  store: DirectiveStore;
  bus: Bus;
  pollIntervalMs: number;
  /**
   * A cache of directive versions shared between replicas (Redis), asked before the store for a
   * version's text. A failing cache is only a miss.
   */
  shared?: DirectiveCache;
  /** How many sessions' start versions to remember (each miss is one store read). Default 10 000. */
  maxSessions?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** An agent's deploy state with the texts a new session may be served, loaded. */
interface AgentState {
  deploy: DirectiveDeploy;
  stable: ServedDirective | null;
  canary: ServedDirective | null;
}

type Resolved = ServedDirective | null;

export class DirectiveResolver {
  /** agent → its state, or null when it has no directive (also cached: no store read per request) */
  private readonly states = new Map<string, AgentState | null>();
  private readonly versions = new LRUCache<string, Directive>({ max: 10_000 });
  /** agent + session id → the version the session started with */
  private readonly sessions: LRUCache<string, number>;
  private readonly loading = new Map<string, Promise<AgentState | null>>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private polling = false;
  private readonly opts: DirectiveResolverOptions;

  constructor(opts: DirectiveResolverOptions) {
    this.opts = opts;
    this.sessions = new LRUCache({ max: opts.maxSessions ?? 10_000 });
  }

  start(): void {
    this.unsubscribe = this.opts.bus.subscribe('directive', (msg) => {
      const m = msg as DirectiveChange;
      if (m && typeof m.agent === 'string') void this.refresh(m.agent, typeof m.revision === 'number' ? m.revision : undefined);
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

  /**
   * The directive to serve `agent`'s request in `sessionId` (null: the agent has none). `isNewSession`:
   * the id was just generated, so it has no recorded version to look up. Throws only when the store
   * cannot answer an agent's first request.
   */
  resolve(agent: string, sessionId: string | null = null, isNewSession = sessionId === null): Resolved | Promise<Resolved> {
    const st = this.states.get(agent);
    if (st === undefined) return this.load(agent).then((s) => this.serve(agent, s, sessionId, isNewSession));
    return this.serve(agent, st, sessionId, isNewSession);
  }

  private serve(agent: string, st: AgentState | null, sessionId: string | null, isNew: boolean): Resolved | Promise<Resolved> {
    if (!st || !st.stable) return null;
    const { deploy } = st;
    const sid = sessionId ?? '';
    // A canary rolled out to all sessions splits every session by its bucket, whatever it started on.
    if (deploy.canary && deploy.rollout === 'all-sessions') return this.pick(st, sid);
    if (isNew || sessionId === null || !this.mayBeOlder(deploy)) return this.remember(agent, sid, this.pick(st, sid));
    const known = this.sessions.get(key(agent, sid));
    if (known !== undefined) return this.started(agent, st, known);
    return this.opts.store.sessionVersion(sid).then(
      (recorded) => {
        // No version recorded yet: a new named session, or one whose first checkpoint is still being
        // written. The bucket gives the same pick as its first request got (unless the deploy changed).
        if (recorded === null) return this.remember(agent, sid, this.pick(st, sid));
        this.sessions.set(key(agent, sid), recorded);
        return this.started(agent, this.states.get(agent) ?? st, recorded);
      },
      (err: Error) => {
        // Availability over stickiness: serve as to a new session, and ask again next time.
        this.opts.log?.('warn', `directive: the version session ${sid} started with could not be read: ${err.message}`);
        return this.pick(st, sid);
      },
    );
  }

  /** Could an existing session be on a version other than what a new session gets? */
  private mayBeOlder(d: DirectiveDeploy): boolean {
    return d.canary !== null || (d.latest > 1 && d.floor < d.latest);
  }

  private pick(st: AgentState, sid: string): Resolved {
    const c = st.deploy.canary;
    return c && st.canary && inCanary(sid, c.percent) ? st.canary : st.stable;
  }

  private remember(agent: string, sid: string, r: Resolved): Resolved {
    if (r && sid) this.sessions.set(key(agent, sid), r.directive.version);
    return r;
  }

  /** A session that started on `version`: that version, or the floor an all-sessions rollout raised. */
  private started(agent: string, st: AgentState | null, version: number): Resolved | Promise<Resolved> {
    if (!st || !st.stable) return null;
    const v = Math.max(version, st.deploy.floor);
    if (v === st.stable.directive.version) return st.stable;
    if (st.canary && v === st.canary.directive.version) return st.canary;
    const promptCache = st.deploy.promptCache;
    const cached = this.versions.get(key(agent, v));
    if (cached) return { directive: cached, promptCache };
    return this.version(agent, v).then((d) => (d ? { directive: d, promptCache } : st.stable));
  }

  private load(agent: string): Promise<AgentState | null> {
    let p = this.loading.get(agent);
    if (!p) {
      p = this.opts.store
        .deployState(agent)
        .then((d) => this.build(agent, d))
        .then((s) => this.install(agent, s))
        .finally(() => this.loading.delete(agent));
      this.loading.set(agent, p);
    }
    return p;
  }

  /** The state with the texts of the versions new sessions get. */
  private async build(agent: string, d: DirectiveDeploy | null): Promise<AgentState | null> {
    if (!d) return null;
    const [stable, canary] = await Promise.all([
      d.stable ? this.version(agent, d.stable) : null,
      d.canary ? this.version(agent, d.canary.version) : null,
    ]);
    return {
      deploy: d,
      stable: stable ? { directive: stable, promptCache: d.promptCache } : null,
      canary: canary ? { directive: canary, promptCache: d.promptCache } : null,
    };
  }

  /** Keeps the newer of what is known and `s` (a push and a load may race); returns what is kept. */
  private install(agent: string, s: AgentState | null): AgentState | null {
    const now = this.states.get(agent);
    if (now && (!s || s.deploy.revision < now.deploy.revision)) return now;
    this.states.set(agent, s);
    return s;
  }

  /** An immutable version: from this process, the shared cache, or the store. */
  private async version(agent: string, version: number): Promise<Directive | null> {
    const local = this.versions.get(key(agent, version));
    if (local) return local;
    let d = await this.opts.shared?.get(agent, version);
    if (!d) {
      d = await this.opts.store.get(agent, version);
      if (d) void this.opts.shared?.set(d);
    }
    if (d) this.versions.set(key(agent, version), d);
    return d ?? null;
  }

  /** Re-reads an agent's state after a change (only if this process serves the agent). */
  private async refresh(agent: string, revision?: number): Promise<void> {
    const cur = this.states.get(agent);
    if (cur === undefined) return; // not in use here: loaded on first request
    if (cur && revision !== undefined && cur.deploy.revision >= revision) return;
    try {
      this.install(agent, await this.build(agent, await this.opts.store.deployState(agent)));
    } catch (err) {
      this.opts.log?.('warn', `directive refresh of ${agent} failed: ${(err as Error).message}`);
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.states.size === 0) return;
    this.polling = true;
    try {
      const all = await this.opts.store.deployStates();
      const updates: Promise<void>[] = [];
      for (const [agent, d] of all) {
        const cur = this.states.get(agent);
        if (cur === undefined || (cur && cur.deploy.revision >= d.revision)) continue;
        updates.push(this.build(agent, d).then((s) => void this.install(agent, s)));
      }
      await Promise.all(updates);
    } catch (err) {
      this.opts.log?.('warn', `directive poll failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }
}

const key = (agent: string, n: number | string) => `${agent}\u0000${n}`;
