// What budgets do when the shared ledger (Redis) cannot answer: IBEX_BUDGET_ON_STORE_ERROR.
//   open   (default) the request goes through uncounted: an outage costs budget precision, not traffic;
//   closed           the request is refused with 503 service_unavailable: no spend the ledger cannot see;
//   local            this process counts on its own against a share of each limit
//                    (IBEX_BUDGET_LOCAL_SHARE, default 0.5; set it to 1/replicas to stay under the limit).
// Every failed call is reported (a metric and a throttled log line, wired in gateway.ts). A
// reservation is reconciled where it was made: one taken locally stays local.
import { IbexError } from '../errors.js';
import type { BudgetReservation, BudgetStore, SpendCounter } from '../stores/ports.js';
import { MemoryBudgetStore } from '../stores/memory/budget-store.js';

export type BudgetOutageMode = 'open' | 'closed' | 'local';
export const BUDGET_OUTAGE_MODES: readonly BudgetOutageMode[] = ['open', 'closed', 'local'];
export const DEFAULT_LOCAL_SHARE = 0.5;

export interface OutageOptions {
  mode: BudgetOutageMode;
  /** Fraction of each limit a process may spend on its own while the store is down (mode local) */
  localShare?: number;
  /** Called on every call the store failed; must not throw */
  onError?: (err: Error, mode: BudgetOutageMode) => void;
  /** The in-process ledger for mode local (tests inject one with a clock) */
  local?: MemoryBudgetStore;
}

export class OutageTolerantBudgetStore implements BudgetStore {
  private readonly local: MemoryBudgetStore | null;
  private readonly share: number;

  constructor(
    private readonly shared: BudgetStore,
    private readonly opts: OutageOptions,
  ) {
    this.local = opts.mode === 'local' ? (opts.local ?? new MemoryBudgetStore()) : null;
    this.share = Math.min(1, Math.max(0, opts.localShare ?? DEFAULT_LOCAL_SHARE));
  }

  async reserve(counters: SpendCounter[], amounts: number[]): Promise<BudgetReservation> {
    try {
      return await this.shared.reserve(counters, amounts);
    } catch (err) {
      this.report(err);
      switch (this.opts.mode) {
        case 'closed':
          throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
            message: 'The budget store is unavailable and this gateway refuses spend it cannot count (IBEX_BUDGET_ON_STORE_ERROR=closed); retry shortly.',
            cause: err,
          });
        case 'local': {
          const shared = counters.map((c) => ({ ...c, limit: c.limit === null ? null : Math.floor(c.limit * this.share) }));
          const r = await this.local!.reserve(shared, amounts);
          return { ...r, counters: r.counters, via: 'local' };
        }
        default:
          return { allowed: true, denied: null, spent: counters.map(() => 0), counters, amounts, via: 'none' };
      }
    }
  }

  async reconcile(r: BudgetReservation, actual: number[]): Promise<void> {
    if (r.via === 'none') return;
    if (r.via === 'local') return this.local!.reconcile(r, actual);
    try {
      await this.shared.reconcile(r, actual);
    } catch (err) {
      // The reservation stays counted as estimated: the ledger is off by this request's estimate error.
      this.report(err);
    }
  }

  read(keys: string[]): Promise<number[]> {
    return this.shared.read(keys);
  }

  close(): void {
    this.local?.close();
  }

  private report(err: unknown): void {
    try {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)), this.opts.mode);
    } catch {
      // a reporting callback must not change the request's outcome
    }
  }
}
