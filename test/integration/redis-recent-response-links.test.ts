// The Responses links of turns just served, shared through Redis (stores/redis/recent-response-links.ts):
// what one replica puts another reads, with a TTL; a foreign or corrupt entry is a miss; a Redis that
// cannot answer makes get() reject (the caller asks the session store) and put() report.
import { afterAll, afterEach, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, waitForRedis } from '../../src/stores/redis/connection.js';
import { RedisRecentResponseLinks } from '../../src/stores/redis/recent-response-links.js';
import { deleteKeys, describeWithRedis, stalledRedis, uniquePrefix, connectTestRedis } from '../helpers/redis.js';

const prefix = uniquePrefix('recent-links');
const clients: Redis[] = [];

const connect = (url?: string, opts?: Parameters<typeof createRedis>[1]): Promise<Redis> => connectTestRedis(clients, url, opts);

async function until(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeWithRedis('RedisRecentResponseLinks', () => {
  afterEach(async () => {
    for (const c of clients.splice(0)) await closeRedis(c);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  it('what one replica puts, another reads: the session, the owner and the key holding the state', async () => {
    const a = new RedisRecentResponseLinks(await connect(), { prefix });
    const b = new RedisRecentResponseLinks(await connect(), { prefix });
    a.put('resp_native', { sessionId: 'ses_1', agent: 'alice', stateAt: { provider: 'pool', keyIndex: 1 } });
    a.put('conv_1', { sessionId: 'ses_2', agent: 'alice', stateAt: null });
    a.put('resp_nokey', { sessionId: 'ses_3', agent: 'bob', stateAt: { provider: 'local', keyIndex: null } });
    await until(async () => (await b.get('resp_nokey')) !== null);
    expect(await b.get('resp_native')).toEqual({ sessionId: 'ses_1', agent: 'alice', stateAt: { provider: 'pool', keyIndex: 1 } });
    expect(await b.get('conv_1')).toEqual({ sessionId: 'ses_2', agent: 'alice', stateAt: null });
    expect(await b.get('resp_nokey')).toEqual({ sessionId: 'ses_3', agent: 'bob', stateAt: { provider: 'local', keyIndex: null } });
    expect(await b.get('resp_never')).toBeNull();
  });

  it('entries expire after the TTL (the checkpoint answers by then)', async () => {
    const client = await connect();
    const links = new RedisRecentResponseLinks(client, { prefix, ttlMs: 5000 });
    links.put('resp_ttl', { sessionId: 'ses_1', agent: 'alice', stateAt: null });
    await until(async () => (await client.pttl(`${prefix}rl:resp_ttl`)) > 0);
    const ttl = await client.pttl(`${prefix}rl:resp_ttl`);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  it('a corrupt or foreign entry is a miss, not a wrong owner', async () => {
    const client = await connect();
    const links = new RedisRecentResponseLinks(client, { prefix });
    await client.set(`${prefix}rl:resp_bad`, '{oops');
    await client.set(`${prefix}rl:resp_foreign`, JSON.stringify({ session: 'x', owner: 'y' }));
    expect(await links.get('resp_bad')).toBeNull();
    expect(await links.get('resp_foreign')).toBeNull();
  });

  it('a Redis that does not answer: get() rejects within the command timeout, put() reports', async () => {
    const stalled = await stalledRedis();
    try {
      const client = createRedis(stalled.url, { commandTimeoutMs: 100 });
      client.on('error', () => {});
      clients.push(client);
      await waitForRedis(client, 2000);
      const errors: Error[] = [];
      const links = new RedisRecentResponseLinks(client, { prefix, onError: (e) => errors.push(e) });
      const t0 = Date.now();
      await expect(links.get('resp_1')).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(1500);
      links.put('resp_1', { sessionId: 'ses_1', agent: 'alice', stateAt: null });
      await until(async () => errors.length > 0);
    } finally {
      await stalled.close();
    }
  });
});
