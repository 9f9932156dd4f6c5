// What ibex knows of each provider reply id (`resp_…`) and `conversation` id a Responses request may
// continue: the session (and so the agent) it belongs to, so a continuation without X-Ibex-Session
// lands in the session of the turn it continues and another agent's is refused (its context is that
// agent's); and where its state lives upstream (the provider and the key that created it: any other
// answers 404), so the continuation goes there (docs/providers.md, stateful continuations).
//
// Held in memory (bounded) and, for any gateway process that does not hold an id (another replica,
// a restart, an evicted entry), read back from the session store: each Responses turn's checkpoint
// names the reply id it created, the id it continued when nothing here had created that one (a
// `conversation`), and where the reply's state lives (stores/ports.ts, findResponseLink). The store
// is asked once per id per process. A continuation can arrive before the checkpoint of the turn it
// continues is written (the write-behind's delay, 50 ms): with Redis, each turn's links are shared
// there as the turn ends (`recent`) and read before the store; without (or for a turn ibex
// translated, whose continuation needs its checkpoint) a reply id is looked for again after short
// waits (`late`, where replicas share the store), and anything still unknown starts a new session.
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { RecentResponseLinks, ResponseStateAt, StoredResponseLink } from '../stores/ports.js';

/**
 * The longest id a checkpoint records for lookup. Provider ids are ~60 characters; a caller's
 * `conversation` or `previous_response_id` is its own text, and an index entry Postgres cannot hold
 * (over ~2.7 kB) would fail the whole batch of checkpoints it is in.
 */
export const MAX_STORED_LINK_ID = 256;

/** `id` when a checkpoint may record it, else null (such an id then lives in memory only). */
export const storedLinkId = (id: string | null): string | null => (id !== null && id.length <= MAX_STORED_LINK_ID ? id : null);

export interface ResponseLink {
  sessionId: string;
  agent: string;
}

export interface ResponseLinkStore {
  findResponseLink(id: string): Promise<StoredResponseLink | null>;
}

/**
 * How long a lookup of a reply id another replica may have just served waits for its checkpoint
 * before each new try (ms): the write-behind writes within its 50 ms batch age plus one write, which
 * a loaded store stretches (350 ms in all was not enough for a CI run of the full suite).
 * Only where replicas share the store: one process alone holds in memory what it has not written.
 */
export const LATE_LINK_WAITS_MS: readonly number[] = [50, 100, 200, 400, 800];

export interface ResponseLinksOptions {
  /** Where an id this process does not hold is looked up; absent: memory only */
  store?: ResponseLinkStore;
  /** The links of turns just served by any replica (Redis), asked before the store */
  recent?: RecentResponseLinks;
  /** `recent` did not answer a lookup (the store was asked instead) */
  onRecentError?: (err: Error) => void;
  /** The store did not answer a lookup (the request was refused with 503) */
  onLookupError?: (err: Error) => void;
  /** resolve(id, { late: true })'s waits; default LATE_LINK_WAITS_MS; [] when no other process writes the store */
  lateWaitsMs?: readonly number[];
}

/** One id's entry: its session and owner (once a turn of it ended), where its state lives (a native reply). */
interface Known {
  link?: ResponseLink;
  stateAt?: ResponseStateAt;
}

export class ResponseLinks {
  private readonly known = new LRUCache<string, Known>({ max: 50_000 });
  /** Lookups in flight, so concurrent first continuations of one id share one query */
  private readonly pending = new Map<string, Promise<ResponseLink | undefined>>();

  constructor(private readonly opts: ResponseLinksOptions = {}) {}

  /** The session and owner this process holds for `id` (memory only). */
  get(id: string): ResponseLink | undefined {
    return this.known.get(id)?.link;
  }

  set(id: string, link: ResponseLink): void {
    this.update(id, { link });
  }

  /** The provider and key holding `id`'s state, as this process knows it (memory only; resolve() first). */
  stateAt(id: string): ResponseStateAt | undefined {
    return this.known.get(id)?.stateAt;
  }

  setStateAt(id: string, stateAt: ResponseStateAt): void {
    this.update(id, { stateAt });
  }

  /** Sets part of `id`'s entry, keeping the rest (the link and the state are learnt at different moments). */
  private update(id: string, part: Known): void {
    const k = this.known.get(id);
    if (k) Object.assign(k, part);
    else this.known.set(id, part);
  }

  /**
   * The link of `id`: from memory, else from the store (then held). Undefined when nobody recorded
   * one. Throws 503 service_unavailable when the store cannot answer: whose the id is cannot be
   * checked, and forwarding it could hand one agent another's conversation.
   */
  resolve(id: string, opts: { late?: boolean } = {}): ResponseLink | undefined | Promise<ResponseLink | undefined> {
    const held = this.get(id);
    if (held !== undefined || !this.opts.store || storedLinkId(id) === null) return held;
    return opts.late ? this.resolveLate(this.opts.store, id) : this.lookupOnce(this.opts.store, id);
  }

  /**
   * For a reply id (a reply exists): when the store has nothing yet, its turn may be in another
   * replica's write-behind, so it is asked again after each wait (an id really unknown, made outside
   * ibex, then costs ~1.5 s once per process).
   */
  private async resolveLate(store: ResponseLinkStore, id: string): Promise<ResponseLink | undefined> {
    let link = await this.lookupOnce(store, id);
    for (const ms of this.opts.lateWaitsMs ?? LATE_LINK_WAITS_MS) {
      if (link) break;
      await sleep(ms);
      link = this.get(id) ?? (await this.lookupOnce(store, id));
    }
    return link;
  }

  private lookupOnce(store: ResponseLinkStore, id: string): Promise<ResponseLink | undefined> {
    let p = this.pending.get(id);
    if (!p) {
      p = this.lookup(store, id);
      this.pending.set(id, p);
      const settled = () => this.pending.delete(id);
      p.then(settled, settled);
    }
    return p;
  }

  private async lookup(store: ResponseLinkStore, id: string): Promise<ResponseLink | undefined> {
    let stored = await this.recentLink(id);
    if (!stored) stored = await this.storedLink(store, id);
    if (!stored) return undefined;
    // What this process recorded meanwhile (a turn of its own ended) is newer: it is kept.
    if (!this.get(id)) this.set(id, { sessionId: stored.sessionId, agent: stored.agent });
    if (stored.stateAt && !this.stateAt(id)) this.setStateAt(id, stored.stateAt);
    return this.get(id);
  }

  /** From the turns just served (Redis); null when none there or it cannot answer (the store is asked then). */
  private async recentLink(id: string): Promise<StoredResponseLink | null> {
    if (!this.opts.recent) return null;
    try {
      return await this.opts.recent.get(id);
    } catch (err) {
      this.opts.onRecentError?.(err as Error);
      return null;
    }
  }

  private async storedLink(store: ResponseLinkStore, id: string): Promise<StoredResponseLink | null> {
    try {
      return await store.findResponseLink(id);
    } catch (err) {
      this.opts.onLookupError?.(err as Error);
      throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
        message: 'The session store did not answer, so whose this previous_response_id (or conversation) is cannot be checked; retry shortly.',
        param: 'previous_response_id',
        cause: err,
      });
    }
  }

  /** Tells the other replicas at once (with Redis) what a turn's checkpoint will record for `id`. */
  share(id: string, link: StoredResponseLink): void {
    if (this.opts.recent && storedLinkId(id) !== null) this.opts.recent.put(id, link);
  }
}
