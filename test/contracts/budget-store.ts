// One behavioural suite every BudgetStore adapter must pass (memory, Redis), so they cannot drift:
// all-or-nothing reservations, reconcile to the actual spend, expiry with the window, and no
// overshoot under concurrency (several stores over one backend stand for several replicas).
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetStore, SpendCounter } from '../../src/stores/ports.js';

export interface BudgetStoreHarness {
  /** Stores sharing one ledger (one per simulated replica); at least one */
  stores: BudgetStore[];
  close?: () => Promise<void> | void;
}

export type BudgetStoreFactory = (opts: { replicas: number }) => Promise<BudgetStoreHarness> | BudgetStoreHarness;

export function budgetStoreContract(name: string, factory: BudgetStoreFactory): void {
  describe(`BudgetStore contract: ${name}`, () => {
    const opened: BudgetStoreHarness[] = [];
    const open = async (replicas = 1): Promise<BudgetStore[]> => {
      const h = await factory({ replicas });
      opened.push(h);
      return h.stores;
    };
    const counter = (limit: number | null, ttlMs = 60_000): SpendCounter => ({ key: `c-${randomBytes(5).toString('hex')}`, limit, ttlMs });

    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close?.();
    });

    it('reserves while there is room, then names the counter without room and adds nothing', async () => {
      const [store] = await open();
      const tokens = counter(100);
      const usd = counter(1_000_000);
      const a = await store!.reserve([tokens, usd], [60, 10]);
      expect(a).toMatchObject({ allowed: true, denied: null, spent: [60, 10] });
      const b = await store!.reserve([tokens, usd], [50, 10]);
      expect(b).toMatchObject({ allowed: false, denied: 0, spent: [60, 10] });
      // all or nothing: the USD counter, which had room, did not move either
      expect(await store!.read([tokens.key, usd.key])).toEqual([60, 10]);
      const c = await store!.reserve([tokens, usd], [40, 10]);
      expect(c).toMatchObject({ allowed: true, spent: [100, 20] });
    });

    it('refuses a counter at its limit even for a zero amount; a null limit only counts', async () => {
      const [store] = await open();
      const full = counter(5);
      expect((await store!.reserve([full], [5])).allowed).toBe(true);
      expect(await store!.reserve([full], [0])).toMatchObject({ allowed: false, denied: 0 });
      const open_ = counter(null);
      expect(await store!.reserve([open_], [1_000_000])).toMatchObject({ allowed: true, spent: [1_000_000] });
    });

    it('reconcile replaces the reserved amounts with the actual ones (up or down); a denied one is a no-op', async () => {
      const [store] = await open();
      const c = counter(1000);
      const r = await store!.reserve([c], [300]);
      await store!.reconcile(r, [120]);
      expect(await store!.read([c.key])).toEqual([120]);
      const r2 = await store!.reserve([c], [100]);
      await store!.reconcile(r2, [250]);
      expect(await store!.read([c.key])).toEqual([370]);
      const denied = await store!.reserve([c], [5000]);
      expect(denied.allowed).toBe(false);
      await store!.reconcile(denied, [5000]);
      expect(await store!.read([c.key])).toEqual([370]);
    });

    it('a counter disappears when its time is up (the window rolled over)', async () => {
      const [store] = await open();
      const c = counter(10, 150);
      expect((await store!.reserve([c], [10])).allowed).toBe(true);
      expect((await store!.reserve([c], [1])).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store!.read([c.key])).toEqual([0]);
      expect((await store!.reserve([c], [10])).allowed).toBe(true);
    });

    it('concurrent reservations from several replicas never pass the limit together', async () => {
      const stores = await open(3);
      const c = counter(1000);
      // 90 concurrent reservations of 37 from three stores: at most floor(1000 / 37) = 27 fit.
      const results = await Promise.all(Array.from({ length: 90 }, (_, i) => stores[i % stores.length]!.reserve([c], [37])));
      const allowed = results.filter((r) => r.allowed).length;
      expect(allowed).toBe(27);
      expect(await stores[0]!.read([c.key])).toEqual([27 * 37]);
    });

    it('concurrent reserve/reconcile cycles leave exactly the sum of the actual amounts', async () => {
      const stores = await open(2);
      const c = counter(1_000_000);
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const s = stores[i % stores.length]!;
          const r = await s.reserve([c], [500]);
          await s.reconcile(r, [i]);
        }),
      );
      expect(await stores[1]!.read([c.key])).toEqual([(39 * 40) / 2]);
    });
  });
}
