import { expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../src/stores/memory/budget-store.js';
import { budgetStoreContract } from '../contracts/budget-store.js';

// In process, "replicas" share one store: that is the embedded deployment (one process).
budgetStoreContract('memory', () => {
  const store = new MemoryBudgetStore({ sweepIntervalMs: 50 });
  return { stores: [store, store, store], close: () => store.close() };
});

it('sweeps expired counters out of memory', async () => {
  let now = 1_000;
  const store = new MemoryBudgetStore({ now: () => now, sweepIntervalMs: 1_000_000 });
  await store.reserve([{ key: 'a', limit: 10, ttlMs: 100 }], [1]);
  expect(store.size).toBe(1);
  now += 101;
  store.sweep();
  expect(store.size).toBe(0);
  store.close();
});
