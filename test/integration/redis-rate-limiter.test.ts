import { afterAll, afterEach, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from '../../src/stores/redis/connection.js';
import { RedisRateLimiter } from '../../src/stores/redis/rate-limiter.js';
import { rateLimiterContract } from '../contracts/rate-limiter.js';
import { CuttableProxy, deleteKeys, describeWithRedis, stalledRedis, uniquePrefix, waitFor, connectTestRedis } from '../helpers/redis.js';

const prefix = uniquePrefix('rate-limiter');
const clients: Redis[] = [];

const connect = (url?: string, opts?: Parameters<typeof createRedis>[1]): Promise<Redis> => connectTestRedis(clients, url, opts);

describeWithRedis('RedisRateLimiter', () => {
  afterEach(async () => {
    for (const c of clients.splice(0)) await closeRedis(c);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  rateLimiterContract('redis', async ({ now }) => ({ limiter: new RedisRateLimiter(await connect(), { prefix, now }) }));

  it('stores one expiring key per window under the prefix', async () => {
    const client = await connect();
    const now = 1_800_000_000_250; // 250 ms into a 1 s window
    const limiter = new RedisRateLimiter(client, { prefix, now: () => now });
    await limiter.hit('shape', 10, 1000);
    await limiter.hit('shape', 10, 1000);
    const key = `${prefix}rl:shape:1800000000000`;
    expect(await client.get(key)).toBe('2');
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(750 + 1000); // rest of the window + clock-skew slack
  });

  it('shares one limit between two replicas (two connections)', async () => {
    // Both replicas read the same instant so the hits cannot straddle a window boundary.
    const t = Date.now();
    const replicaA = new RedisRateLimiter(await connect(), { prefix, now: () => t });
    const replicaB = new RedisRateLimiter(await connect(), { prefix, now: () => t });
    const key = `shared-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).hit(key, 10, 60_000)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(replicaA.failOpenCount + replicaB.failOpenCount).toBe(0);
  });

  it('fails open at once when Redis is unreachable', async () => {
    const client = createRedis('redis://127.0.0.1:1');
    client.on('error', () => {});
    clients.push(client);
    const errors: Error[] = [];
    const limiter = new RedisRateLimiter(client, { prefix, onFailOpen: (e) => errors.push(e) });
    const started = performance.now();
    const first = await limiter.hit('down', 1, 60_000);
    const second = await limiter.hit('down', 1, 60_000); // limit 1, yet allowed: nothing counts
    const elapsed = performance.now() - started;
    expect(first).toMatchObject({ allowed: true, limit: 1, remaining: 1 });
    expect(second.allowed).toBe(true);
    expect(first.resetMs).toBeGreaterThan(0);
    expect(first.resetMs).toBeLessThanOrEqual(60_000);
    expect(limiter.failOpenCount).toBe(2);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(elapsed).toBeLessThan(200);
  });

  it('fails open after the command timeout when Redis stops answering', async () => {
    const stalled = await stalledRedis();
    try {
      const client = await connect(stalled.url, { commandTimeoutMs: 80 });
      const limiter = new RedisRateLimiter(client, { prefix });
      const started = performance.now();
      const result = await limiter.hit('slow', 1, 60_000);
      const elapsed = performance.now() - started;
      expect(result.allowed).toBe(true);
      expect(limiter.failOpenCount).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(70);
      expect(elapsed).toBeLessThan(500);
    } finally {
      for (const c of clients.splice(0)) c.disconnect();
      await stalled.close();
    }
  });

  it('a throwing onFailOpen callback does not fail the hit', async () => {
    const client = createRedis('redis://127.0.0.1:1');
    client.on('error', () => {});
    clients.push(client);
    const limiter = new RedisRateLimiter(client, {
      onFailOpen: () => {
        throw new Error('logger bug');
      },
    });
    await expect(limiter.hit('x', 1, 1000)).resolves.toMatchObject({ allowed: true });
  });

  it('fails open during an outage and enforces limits again once Redis returns', async () => {
    const proxy = new CuttableProxy();
    await proxy.up();
    try {
      const client = await connect(proxy.url, { maxReconnectDelayMs: 100 });
      const t = Date.now(); // a fixed instant: the test must not cross into a new window
      const limiter = new RedisRateLimiter(client, { prefix, now: () => t });
      const key = `outage-${t}`;
      expect((await limiter.hit(key, 1, 60_000)).allowed).toBe(true);
      expect((await limiter.hit(key, 1, 60_000)).allowed).toBe(false);

      await proxy.down();
      await waitFor(() => client.status !== 'ready', 'the client to notice the outage');
      const during = await limiter.hit(key, 1, 60_000);
      expect(during.allowed).toBe(true);
      expect(limiter.failOpenCount).toBe(1);

      await proxy.up();
      await waitFor(() => client.status === 'ready', 'reconnection', 5000);
      const after = await limiter.hit(key, 1, 60_000);
      expect(after.allowed).toBe(false); // the shared count survived; enforcement is back
      expect(limiter.failOpenCount).toBe(1);
    } finally {
      for (const c of clients.splice(0)) c.disconnect();
      await proxy.down();
    }
  });
});
