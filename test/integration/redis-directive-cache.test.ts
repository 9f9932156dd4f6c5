import { afterAll, afterEach, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from '../../src/stores/redis/connection.js';
import { RedisDirectiveCache } from '../../src/stores/redis/directive-cache.js';
import { directiveCacheContract } from '../contracts/directive-cache.js';
import { deleteKeys, describeWithRedis, stalledRedis, uniquePrefix, connectTestRedis } from '../helpers/redis.js';

const prefix = uniquePrefix('directive-cache');
const clients: Redis[] = [];

const connect = (url?: string, opts?: Parameters<typeof createRedis>[1]): Promise<Redis> => connectTestRedis(clients, url, opts);

const directive = { agent: 'support', version: 4, text: 'be kind', sha256: 'ab'.repeat(32), createdAt: 1_700_000_000_000 };

describeWithRedis('RedisDirectiveCache', () => {
  afterEach(async () => {
    for (const c of clients.splice(0)) await closeRedis(c);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  directiveCacheContract('redis', async ({ currentTtlMs }) => ({
    cache: new RedisDirectiveCache(await connect(), { prefix, currentTtlMs }),
  }));

  it('is shared: what one replica caches, another reads', async () => {
    const a = new RedisDirectiveCache(await connect(), { prefix });
    const b = new RedisDirectiveCache(await connect(), { prefix });
    await a.set(directive);
    await a.setCurrent('support', 4);
    expect(await b.get('support', 4)).toEqual(directive);
    expect(await b.getCurrent('support')).toBe(4);
  });

  it('gives versions a long TTL and the current pointer a short one', async () => {
    const client = await connect();
    const cache = new RedisDirectiveCache(client, { prefix, currentTtlMs: 3000, versionTtlMs: 3_600_000 });
    await cache.set({ ...directive, agent: 'ttl' });
    await cache.setCurrent('ttl', 4);
    const versionTtl = await client.pttl(`${prefix}dir:v:ttl:4`);
    const currentTtl = await client.pttl(`${prefix}dir:cur:ttl`);
    expect(versionTtl).toBeGreaterThan(3_500_000);
    expect(currentTtl).toBeGreaterThan(0);
    expect(currentTtl).toBeLessThanOrEqual(3000);
  });

  it('treats a corrupt entry as a miss', async () => {
    const client = await connect();
    const cache = new RedisDirectiveCache(client, { prefix });
    await client.set(`${prefix}dir:v:corrupt:1`, '{oops');
    await client.set(`${prefix}dir:v:other:1`, JSON.stringify({ ...directive, agent: 'someone-else', version: 1 }));
    await client.set(`${prefix}dir:cur:corrupt`, 'NaN');
    expect(await cache.get('corrupt', 1)).toBeNull();
    expect(await cache.get('other', 1)).toBeNull();
    expect(await cache.getCurrent('corrupt')).toBeNull();
  });

  it('answers every call as a miss, quickly, when Redis is down or stalled', async () => {
    const stalled = await stalledRedis();
    try {
      const down = createRedis('redis://127.0.0.1:1');
      down.on('error', () => {});
      clients.push(down);
      const slow = await connect(stalled.url, { commandTimeoutMs: 80 });
      for (const client of [down, slow]) {
        const errors: string[] = [];
        const cache = new RedisDirectiveCache(client, { prefix, onError: (_e, op) => errors.push(op) });
        const started = performance.now();
        await expect(cache.get('support', 4)).resolves.toBeNull();
        await expect(cache.getCurrent('support')).resolves.toBeNull();
        await expect(cache.set(directive)).resolves.toBeUndefined();
        await expect(cache.setCurrent('support', 4)).resolves.toBeUndefined();
        await expect(cache.invalidateCurrent('support')).resolves.toBeUndefined();
        expect(performance.now() - started).toBeLessThan(1000);
        expect(errors).toEqual(['get', 'getCurrent', 'set', 'setCurrent', 'invalidateCurrent']);
      }
    } finally {
      for (const c of clients.splice(0)) c.disconnect();
      await stalled.close();
    }
  });
});
