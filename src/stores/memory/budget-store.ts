// The ledger of spend held in this process's memory (embedded mode, and the `local` share a replica
// falls back to while Redis is down). Every operation runs synchronously to completion, so a
// reservation is atomic within the process exactly as the Redis script is across processes.
//
// IMPORTANT: in-process budgets are PER PROCESS, like in-process rate limits. Configure
// IBEX_REDIS_URL to share them between replicas.
import type { BudgetReservation, BudgetStore, SpendCounter } from '../ports.js';

export interface MemoryBudgetStoreOptions {
  /** Clock in epoch ms (tests). */
  now?: () => number;
  /** How often expired counters are swept out, in ms. Default 60 000. */
  sweepIntervalMs?: number;
}

interface Entry {
  value: number;
  expiresAt: number;
}

export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: MemoryBudgetStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  async reserve(counters: SpendCounter[], amounts: number[]): Promise<BudgetReservation> {
    const now = this.now();
    const spent = counters.map((c) => this.value(c.key, now));
    for (let i = 0; i < counters.length; i++) {
      const limit = counters[i]!.limit;
      if (limit !== null && (spent[i]! >= limit || spent[i]! + amounts[i]! > limit)) {
        return { allowed: false, denied: i, spent, counters, amounts, via: 'store' };
      }
    }
    for (let i = 0; i < counters.length; i++) spent[i] = this.add(counters[i]!, amounts[i]!, now);
    return { allowed: true, denied: null, spent, counters, amounts, via: 'store' };
  }

  async reconcile(r: BudgetReservation, actual: number[]): Promise<void> {
    if (!r.allowed) return;
    const now = this.now();
    for (let i = 0; i < r.counters.length; i++) {
      const delta = (actual[i] ?? 0) - r.amounts[i]!;
      if (delta !== 0) this.add(r.counters[i]!, delta, now);
    }
  }

  async read(keys: string[]): Promise<number[]> {
    const now = this.now();
    return keys.map((k) => this.value(k, now));
  }

  private value(key: string, now: number): number {
    const e = this.counters.get(key);
    return e && e.expiresAt > now ? e.value : 0;
  }

  private add(c: SpendCounter, amount: number, now: number): number {
    let e = this.counters.get(c.key);
    if (!e || e.expiresAt <= now) {
      e = { value: 0, expiresAt: now + c.ttlMs };
      this.counters.set(c.key, e);
    }
    e.value += amount;
    return e.value;
  }

  /** Drops expired counters. O(counters), off the request path. */
  sweep(): void {
    const now = this.now();
    for (const [key, e] of this.counters) if (e.expiresAt <= now) this.counters.delete(key);
  }

  get size(): number {
    return this.counters.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.counters.clear();
  }
}
