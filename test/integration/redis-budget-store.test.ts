// The Redis ledger of spend: the shared contract (several connections = several replicas), the key
// shape, and what IBEX_BUDGET_ON_STORE_ERROR does during a real outage (a proxy that is cut).
import { afterAll, afterEach, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from '../../src/stores/redis/connection.js';
import { RedisBudgetStore } from '../../src/stores/redis/budget-store.js';
import { MemoryBudgetStore } from '../../src/stores/memory/budget-store.js';
import { OutageTolerantBudgetStore, type BudgetOutageMode } from '../../src/usage/outage.js';
import { IbexError } from '../../src/errors.js';
import { budgetStoreContract } from '../contracts/budget-store.js';
import { CuttableProxy, deleteKeys, describeWithRedis, uniquePrefix, waitFor, connectTestRedis } from '../helpers/redis.js';

const prefix = uniquePrefix('budgets');
const clients: Redis[] = [];

const connect = (url?: string, opts?: Parameters<typeof createRedis>[1]): Promise<Redis> => connectTestRedis(clients, url, opts);

describeWithRedis('RedisBudgetStore', () => {
  afterEach(async () => {
    for (const c of clients.splice(0)) await closeRedis(c);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  // Each replica has its own connection: the Lua script is what keeps them from overshooting.
  budgetStoreContract('redis', async ({ replicas }) => ({
    stores: await Promise.all(Array.from({ length: replicas }, async () => new RedisBudgetStore(await connect(), { prefix }))),
  }));

  it('keeps whole numbers under the prefix with an expiry, set once', async () => {
    const client = await connect();
    const store = new RedisBudgetStore(client, { prefix });
    const c = { key: `shape-${Date.now()}`, limit: 10_000, ttlMs: 5_000 };
    await store.reserve([c], [1234]);
    expect(await client.get(prefix + c.key)).toBe('1234');
    const ttl = await client.pttl(prefix + c.key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    await store.reserve([{ ...c, ttlMs: 60_000 }], [1]); // a later call does not extend it
    expect(await client.pttl(prefix + c.key)).toBeLessThanOrEqual(5_000);
  });

  const outage = async (mode: BudgetOutageMode) => {
    const proxy = new CuttableProxy();
    await proxy.up();
    const client = await connect(proxy.url, { maxReconnectDelayMs: 100 });
    const errors: string[] = [];
    const store = new OutageTolerantBudgetStore(new RedisBudgetStore(client, { prefix }), {
      mode,
      localShare: 0.5,
      onError: (_e, m) => errors.push(m),
      local: new MemoryBudgetStore(),
    });
    const c = { key: `outage-${mode}-${Date.now()}`, limit: 100, ttlMs: 60_000 };
    expect((await store.reserve([c], [60])).via).toBe('store');
    await proxy.down();
    await waitFor(() => client.status !== 'ready', 'the client to notice the outage');
    return { proxy, client, store, c, errors };
  };

  it('mode open: lets requests through uncounted during the outage, and counts again after', async () => {
    const { proxy, client, store, c, errors } = await outage('open');
    try {
      const during = await store.reserve([c], [60]); // would not fit: 60 + 60 > 100
      expect(during).toMatchObject({ allowed: true, via: 'none' });
      await store.reconcile(during, [60]); // nothing to reconcile, and no throw
      expect(errors).toEqual(['open']);
      await proxy.up();
      await waitFor(() => client.status === 'ready', 'reconnection', 5000);
      const after = await store.reserve([c], [60]);
      expect(after).toMatchObject({ allowed: false, via: 'store', spent: [60] });
    } finally {
      await proxy.down();
    }
  });

  it('mode closed: refuses with 503 service_unavailable during the outage', async () => {
    const { proxy, store, c, errors } = await outage('closed');
    try {
      const err = await store.reserve([c], [1]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IbexError);
      expect(err).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(errors).toEqual(['closed']);
    } finally {
      await proxy.down();
    }
  });

  it('mode local: counts in process against the local share of each limit', async () => {
    const { proxy, store, c, errors } = await outage('local');
    try {
      // share 0.5 of 100 = 50 on this replica alone, whatever Redis held before the outage
      const a = await store.reserve([c], [30]);
      expect(a).toMatchObject({ allowed: true, via: 'local' });
      expect(await store.reserve([c], [30])).toMatchObject({ allowed: false, via: 'local' });
      await store.reconcile(a, [10]); // reconciled where it was counted
      expect(await store.reserve([c], [30])).toMatchObject({ allowed: true, via: 'local', spent: [40] });
      expect(errors).toEqual(['local', 'local', 'local']);
    } finally {
      await proxy.down();
    }
  });
});
