// Responses links shared through Redis the moment a turn ends (see RecentResponseLinks): one SET
// with a TTL per reply id, and per conversation id a turn first claimed. Reads that cannot be
// answered reject, and the caller asks the session store instead; writes are not awaited by the
// request, and a failed one is reported (the checkpoint still records the link, a little later).
//
// Keys: `${prefix}rl:${id}` → JSON `{"s":session,"a":agent,"p":provider,"k":keyIndex}` (p and k only
// for a reply whose state lives upstream), expiring after `ttlMs`.
import type { Redis } from 'ioredis';
import type { RecentResponseLinks, StoredResponseLink } from '../ports.js';
import { DEFAULT_REDIS_PREFIX } from './connection.js';

/**
 * How long a shared link is kept (ms): far longer than the write-behind takes to land the
 * checkpoint that records it for good (50 ms, seconds while the store is slow or recovering), and
 * short enough that 10,000 turns a second hold ~100 MB of Redis.
 */
export const RECENT_LINK_TTL_MS = 60_000;

export interface RedisRecentResponseLinksOptions {
  prefix?: string;
  ttlMs?: number;
  /** A write Redis did not take */
  onError?: (err: Error) => void;
}

interface Shared {
  s: string;
  a: string;
  p?: string;
  k?: number | null;
}

export class RedisRecentResponseLinks implements RecentResponseLinks {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly onError: (err: Error) => void;

  constructor(
    private readonly client: Redis,
    opts: RedisRecentResponseLinksOptions = {},
  ) {
    this.prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
    this.ttlMs = opts.ttlMs ?? RECENT_LINK_TTL_MS;
    this.onError = opts.onError ?? (() => {});
  }

  async get(id: string): Promise<StoredResponseLink | null> {
    const raw = await this.client.get(this.key(id));
    return raw === null ? null : linkOf(raw);
  }

  put(id: string, link: StoredResponseLink): void {
    const v: Shared = { s: link.sessionId, a: link.agent };
    if (link.stateAt) {
      v.p = link.stateAt.provider;
      v.k = link.stateAt.keyIndex;
    }
    this.client.set(this.key(id), JSON.stringify(v), 'PX', this.ttlMs).catch((err: Error) => this.onError(err));
  }

  private key(id: string): string {
    return `${this.prefix}rl:${id}`;
  }
}

/** A shared entry, or null when it is not one this adapter wrote (read as a miss, not a wrong answer). */
function linkOf(raw: string): StoredResponseLink | null {
  try {
    const v = JSON.parse(raw) as Partial<Shared>;
    if (typeof v.s !== 'string' || typeof v.a !== 'string') return null;
    const stateAt = typeof v.p === 'string' ? { provider: v.p, keyIndex: typeof v.k === 'number' ? v.k : null } : null;
    return { sessionId: v.s, agent: v.a, stateAt };
  } catch {
    return null;
  }
}
