// The embedded cache: an in-process LRU bounded by bytes (lru-cache), entries expiring by their TTL.
import { LRUCache } from 'lru-cache';
import type { CachedReply, ResponseCacheStore } from './types.js';

export class MemoryResponseCache implements ResponseCacheStore {
  private readonly lru: LRUCache<string, CachedReply>;

  constructor(private readonly maxBytes: number) {
    this.lru = new LRUCache<string, CachedReply>({
      maxSize: maxBytes,
      // the body plus a little for the key and the object
      sizeCalculation: (v) => v.body.length + 128,
      ttlAutopurge: false,
    });
  }

  async get(key: string): Promise<CachedReply | null> {
    return this.lru.get(key) ?? null;
  }

  async set(key: string, reply: CachedReply, ttlMs: number): Promise<void> {
    if (reply.body.length + 128 > this.maxBytes) return;
    this.lru.set(key, reply, { ttl: ttlMs });
  }

  async close(): Promise<void> {
    this.lru.clear();
  }

  describe(): string {
    return `cache: memory LRU ${Math.round(this.maxBytes / 1024 / 1024)} MiB (per process)`;
  }
}
