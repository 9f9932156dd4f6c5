// Picks the response cache adapter: Redis when IBEX_REDIS_URL is set (shared by replicas), else the
// in-process LRU. Settings: IBEX_CACHE_MAX_BYTES (LRU bound, default 64 MiB) and
// IBEX_CACHE_MAX_ENTRY_BYTES (largest reply kept, default 1 MiB); the TTL is per agent in ibex.yaml.
import type { ResponseCacheStore } from './types.js';
import { MemoryResponseCache } from './memory.js';

export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CACHE_MAX_ENTRY_BYTES = 1024 * 1024;

export interface CacheSettings {
  store: ResponseCacheStore;
  maxEntryBytes: number;
}

function bytesFromEnv(v: string | undefined, fallback: number): number {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export async function createResponseCache(env: NodeJS.ProcessEnv = process.env, redisUrl = env.IBEX_REDIS_URL): Promise<CacheSettings> {
  const maxEntryBytes = bytesFromEnv(env.IBEX_CACHE_MAX_ENTRY_BYTES, DEFAULT_CACHE_MAX_ENTRY_BYTES);
  if (redisUrl) {
    const { RedisResponseCache } = await import('./redis.js');
    return { store: new RedisResponseCache(redisUrl), maxEntryBytes };
  }
  return { store: new MemoryResponseCache(bytesFromEnv(env.IBEX_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_BYTES)), maxEntryBytes };
}

export type { CachedReply, ResponseCacheStore } from './types.js';
export { cacheKey, policiesFingerprint } from './key.js';
export { MemoryResponseCache } from './memory.js';
