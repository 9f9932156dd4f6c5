import { afterAll, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { openRedisBackends } from '../../src/stores/redis/index.js';
import { CuttableProxy, REDIS_TEST_URL, deleteKeys, describeWithRedis, uniquePrefix, waitFor } from '../helpers/redis.js';

const prefix = uniquePrefix('backends');

describeWithRedis('openRedisBackends', () => {
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  it('opens working adapters, reports readiness and describes itself', async () => {
    const backends = await openRedisBackends(REDIS_TEST_URL, { prefix });
    try {
      const checks = await backends.ready();
      expect(checks.map((c) => [c.name, c.ok])).toEqual([
        ['redis', true],
        ['redis-subscriber', true],
      ]);
      expect(backends.describe()).toEqual(
        expect.arrayContaining([`rate limits: redis ${REDIS_TEST_URL}`, `bus: redis ${REDIS_TEST_URL}`]),
      );

      const r = await backends.rateLimiter.hit('k', 1, 60_000);
      expect(r.allowed).toBe(true);

      // subscribe then publish straight after opening: the process sees its own message once
      const got: unknown[] = [];
      backends.bus.subscribe('directive', (m) => got.push(m));
      await backends.bus.publish('directive', { agent: 'a', version: 2 });
      await waitFor(() => got.length === 1, 'own message');

      await backends.directiveCache.setCurrent('a', 2);
      expect(await backends.directiveCache.getCurrent('a')).toBe(2);
    } finally {
      await backends.close();
    }
    const after = await backends.ready();
    expect(after.every((c) => !c.ok)).toBe(true);
  });

  it('redacts the password in describe()', async () => {
    // Redis' default user has no password, so any password authenticates; the point is the output.
    const url = REDIS_TEST_URL.replace('redis://', 'redis://default:s3cret-pw@');
    const backends = await openRedisBackends(url, { prefix });
    try {
      const lines = backends.describe().join('\n');
      expect(lines).not.toContain('s3cret-pw');
      expect(lines).toContain('***');
    } finally {
      await backends.close();
    }
  });

  it('rejects with a UserError when Redis cannot be reached at start', async () => {
    const started = performance.now();
    const opening = openRedisBackends('redis://:pw-never-shown@127.0.0.1:1', { prefix, connectTimeoutMs: 300 });
    await expect(opening).rejects.toBeInstanceOf(UserError);
    await expect(opening).rejects.toThrow(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('logs one line when the connection is lost and one when it is back, and reports fail-opens', async () => {
    const proxy = new CuttableProxy();
    await proxy.up();
    const lines: string[] = [];
    const failOpens: Error[] = [];
    const backends = await openRedisBackends(proxy.url, { prefix, log: (l) => lines.push(l), onFailOpen: (e) => failOpens.push(e) });
    try {
      expect(lines).toEqual([]);
      await proxy.down();
      await waitFor(() => lines.some((l) => l.includes('connection lost')), 'the "lost" line');
      for (let i = 0; i < 3; i++) expect((await backends.rateLimiter.hit('x', 1, 60_000)).allowed).toBe(true);
      expect(failOpens).toHaveLength(3);
      expect(backends.rateLimiter.failOpenCount).toBe(3);
      expect((await backends.ready()).some((c) => !c.ok)).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // several reconnect attempts: still one line
      await proxy.up();
      await waitFor(() => lines.some((l) => l.includes('connection restored')), 'the "restored" line', 5000);
      expect(lines.filter((l) => l.includes('connection lost'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('connection restored'))).toHaveLength(1);
      expect(lines.every((l) => l.startsWith(`redis redis://127.0.0.1:${proxy.port}`))).toBe(true);
    } finally {
      await backends.close();
      await proxy.down();
    }
  });
});
