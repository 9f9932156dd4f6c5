// The shared cache for production: Redis, one key per entry with its TTL (`PX`), so every replica
// serves what any replica stored. The value is one byte of kind (`j` JSON, `s` SSE) then the body.
import { Redis } from 'ioredis';
import type { CachedReply, ResponseCacheStore } from './types.js';

const PREFIX = 'ibex:cache:';

export class RedisResponseCache implements ResponseCacheStore {
  private readonly redis: Redis;

  constructor(
    private readonly url: string,
    redis?: Redis,
  ) {
    // Connects on first use (an agent with a cache); commands fail fast when Redis is down, so the cache
    // is then a miss, never a hang on the request path.
    this.redis = redis ?? new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 500, connectTimeout: 2000 });
    this.redis.on('error', () => {});
  }

  async get(key: string): Promise<CachedReply | null> {
    const v = await this.redis.getBuffer(PREFIX + key);
    if (!v || v.length < 1) return null;
    const kind = v[0] === 0x73 ? 'sse' : v[0] === 0x6a ? 'json' : null;
    return kind ? { kind, body: v.subarray(1) } : null;
  }

  async set(key: string, reply: CachedReply, ttlMs: number): Promise<void> {
    const value = Buffer.concat([Buffer.from(reply.kind === 'sse' ? 's' : 'j'), reply.body]);
    await this.redis.set(PREFIX + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  describe(): string {
    return `cache: redis ${this.url.replace(/\/\/[^@/]*@/, '//***@')}`;
  }
}
