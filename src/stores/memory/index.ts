// The in-process equivalents of the Redis backends: nothing shared between processes.
import type { ReadinessCheck } from '../ports.js';
import { MemoryBus } from './bus.js';
import { MemoryDirectiveCache } from './directive-cache.js';
import { MemoryRateLimiter } from './rate-limiter.js';
import { MemoryBudgetStore } from './budget-store.js';

export { MemoryBus, type MemoryBusOptions } from './bus.js';
export { MemoryDirectiveCache, type DirectiveCache, type MemoryDirectiveCacheOptions } from './directive-cache.js';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './rate-limiter.js';
export { MemoryBudgetStore, type MemoryBudgetStoreOptions } from './budget-store.js';

export interface MemoryBackends {
  rateLimiter: MemoryRateLimiter;
  budgets: MemoryBudgetStore;
  bus: MemoryBus;
  directiveCache: MemoryDirectiveCache;
  ready(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
  describe(): string[];
}

export async function openMemoryBackends(opts: { onBusError?: (err: Error, topic: string) => void } = {}): Promise<MemoryBackends> {
  const rateLimiter = new MemoryRateLimiter();
  const budgets = new MemoryBudgetStore();
  const bus = new MemoryBus({ onError: opts.onBusError });
  const directiveCache = new MemoryDirectiveCache();
  return {
    rateLimiter,
    budgets,
    bus,
    directiveCache,
    // In-process parts cannot be unreachable; reporting nothing keeps /readyz about real stores.
    async ready() {
      return [];
    },
    async close() {
      rateLimiter.close();
      budgets.close();
      bus.close();
    },
    describe() {
      return ['rate limits: in-process (per process)', 'budgets: in-process (per process)', 'directive cache: in-process', 'bus: in-process'];
    },
  };
}
