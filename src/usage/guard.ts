// Token limits and budgets on the request path. Before forwarding, `reserve` holds the request's
// estimated spend (estimate.ts) against every counter of the agent's and the PAT's limits in one
// atomic call of the budget store; after the reply, `settle` prices the real usage and replaces the
// estimate with it (reconcile, in the background). A request no limit applies to costs no store call.
//
// Over a limit: tokens per minute → 429 rate_limit_exceeded (+ retry-after); a budget → 429
// budget_exceeded naming the budget and when it resets, unless the subject names a fallback model,
// which is then served instead (the caller's body gets that model; its spend is still counted).
import { IbexError } from '../errors.js';
import type { Agent, BudgetReservation, BudgetStore, SpendLimits, Usage } from '../stores/ports.js';
import { amountFor, countersFor, DEFAULT_WARN_PCT, describeCounter, formatUsd, hasSpendLimits, type LimitCounter, type Subject } from './budgets.js';
import { costUsd, fromMicroUsd, toMicroUsd } from './cost.js';
import { estimateSpend, type SpendEstimate } from './estimate.js';
import type { PriceTable } from './prices.js';

export interface SpendGuardOptions {
  store: BudgetStore;
  prices: PriceTable;
  /** The provider and model a caller's model name is served as, for the estimate's price (routing). */
  resolveModel?: (model: string) => { provider: string | null; model: string };
  /** Warnings (a budget past its threshold, once per window and process) and reconcile failures */
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => number;
}

export interface SpendRequest {
  agent: Agent;
  /** The PAT's id and limits */
  pat: { id: string; limits?: SpendLimits | null };
  /** The request body as parsed (its `model` is replaced when a fallback applies) */
  body: unknown;
  /** Size of the body as received */
  bodyBytes: number;
}

/** What a request holds until it is settled. */
export interface SpendHold {
  reservation: BudgetReservation;
  counters: LimitCounter[];
  estimate: SpendEstimate;
}

export interface SpendFacts {
  usage: Usage | null;
  /** The provider that served the request and the model it was served as */
  provider: string | null;
  model: string | null;
  /** True when the provider answered (something may be billed even without a usage report) */
  answered: boolean;
}

/** Bounded memory of which budgets were already warned about in their window. */
const WARNED_MAX = 10_000;

export class SpendGuard {
  private readonly now: () => number;
  private readonly warned = new Set<string>();

  constructor(private readonly opts: SpendGuardOptions) {
    this.now = opts.now ?? Date.now;
  }

  get prices(): PriceTable {
    return this.opts.prices;
  }

  /**
   * Holds the request's estimated spend. Returns the hold (null when no limit applies) and the
   * headers to add to the reply. Throws IbexError 429 when a limit has no room, 503 when the budget
   * store is down and IBEX_BUDGET_ON_STORE_ERROR=closed.
   */
  async reserve(req: SpendRequest): Promise<{ hold: SpendHold | null; headers: Record<string, string> }> {
    const patLimits = req.pat.limits ?? null;
    if (!hasSpendLimits(req.agent) && !hasSpendLimits(patLimits)) return { hold: null, headers: {} };
    const subjects: Subject[] = [];
    if (hasSpendLimits(req.agent)) subjects.push({ kind: 'agent', id: req.agent.name, limits: req.agent });
    if (patLimits && hasSpendLimits(patLimits)) subjects.push({ kind: 'pat', id: req.pat.id, limits: patLimits });

    const now = this.now();
    let counters = countersFor(subjects, now);
    const headers: Record<string, string> = {};
    const original = modelOf(req.body);
    // At most one fallback per subject: each one opens that subject's budgets.
    for (let attempt = 0; ; attempt++) {
      const estimate = estimateSpend(req.body, req.bodyBytes || approxBytes(req.body), this.priceOf(modelOf(req.body)));
      const micro = toMicroUsd(estimate.usd);
      const amounts = counters.map((c) => amountFor(c, estimate.tokens, micro));
      const reservation = await this.opts.store.reserve(counters, amounts);
      if (reservation.allowed) {
        this.describeRoom(counters, reservation, headers);
        return { hold: { reservation, counters, estimate }, headers };
      }
      const c = counters[reservation.denied ?? 0]!;
      const fallback = c.subject.limits.budgetFallbackModel;
      const current = modelOf(req.body);
      if (c.budget && fallback && current !== fallback && attempt < subjects.length && isObject(req.body)) {
        req.body.model = fallback;
        headers['x-ibex-budget-fallback'] = original ?? '';
        counters = counters.map((k) => (k.budget && k.subject === c.subject ? { ...k, limit: null } : k));
        continue;
      }
      throw denial(c, reservation.spent[reservation.denied ?? 0] ?? 0, now);
    }
  }

  /**
   * The request's cost at its served model's price (null when unknown), and the hold (if any)
   * reconciled to the real spend in the background. Without a usage report the estimate stands
   * when the provider answered (it may bill), else the hold is released.
   */
  settle(hold: SpendHold | null, facts: SpendFacts): number | null {
    const cost = costUsd(facts.usage, this.opts.prices.lookup(facts.provider, facts.model));
    if (hold && hold.reservation.allowed) {
      let actual: number[];
      if (facts.usage) {
        const micro = toMicroUsd(cost);
        actual = hold.counters.map((c) => amountFor(c, facts.usage!.totalTokens, micro));
      } else {
        actual = facts.answered ? hold.reservation.amounts : hold.counters.map(() => 0);
      }
      this.opts.store.reconcile(hold.reservation, actual).catch((err: Error) => {
        this.opts.log?.('warn', `budgets: reconcile failed (${err.message}); the request stays counted at its estimate`);
      });
    }
    return cost;
  }

  private priceOf(model: string | null) {
    if (!model) return null;
    const r = this.opts.resolveModel?.(model) ?? { provider: null, model };
    return this.opts.prices.lookup(r.provider, r.model) ?? this.opts.prices.lookup(null, model);
  }

  /** x-ibex-budget-remaining-usd (the smallest room left in a USD budget) and x-ibex-budget-warning. */
  private describeRoom(counters: LimitCounter[], r: BudgetReservation, headers: Record<string, string>): void {
    if (r.via === 'none') return;
    let remaining: number | null = null;
    let worst: { c: LimitCounter; pct: number } | null = null;
    counters.forEach((c, i) => {
      if (!c.budget || c.limit === null) return;
      const spent = r.spent[i] ?? 0;
      if (c.unit === 'usd') {
        const left = Math.max(0, fromMicroUsd(c.limit - spent));
        remaining = remaining === null ? left : Math.min(remaining, left);
      }
      const pct = c.limit > 0 ? (spent / c.limit) * 100 : 100;
      const threshold = c.subject.limits.budgetWarnPct ?? DEFAULT_WARN_PCT;
      if (pct >= threshold && (!worst || pct > worst.pct)) worst = { c, pct };
    });
    if (remaining !== null) headers['x-ibex-budget-remaining-usd'] = (remaining as number).toFixed(6);
    if (worst) {
      const { c, pct } = worst as { c: LimitCounter; pct: number };
      headers['x-ibex-budget-warning'] = `${describeCounter(c)} is ${Math.floor(pct)}% spent; resets ${new Date(c.resetAt).toISOString()}`;
      if (!this.warned.has(c.key)) {
        if (this.warned.size >= WARNED_MAX) this.warned.clear();
        this.warned.add(c.key);
        this.opts.log?.('warn', `budgets: ${headers['x-ibex-budget-warning']}`);
      }
    }
  }
}

function denial(c: LimitCounter, spent: number, now: number): IbexError {
  const resetIso = new Date(c.resetAt).toISOString();
  const retryAfter = String(Math.max(1, Math.ceil((c.resetAt - now) / 1000)));
  if (!c.budget) {
    return new IbexError('IBEX_ERR_RATE_LIMITED', {
      message: `Rate limit reached: ${describeCounter(c)}. Retry after ${retryAfter}s.`,
      headers: { 'retry-after': retryAfter },
    });
  }
  const used = c.unit === 'usd' ? formatUsd(fromMicroUsd(spent)) : `${spent} tokens`;
  return new IbexError('IBEX_ERR_BUDGET_EXCEEDED', {
    message: `Budget exceeded: ${describeCounter(c)} has no room for this request (${used} spent or held). It resets at ${resetIso}.`,
    headers: { 'x-ibex-budget-reset': resetIso },
  });
}

/** The body's size when the request had no content-length (chunked upload). */
function approxBytes(body: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(body) ?? '');
  } catch {
    return 0;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function modelOf(body: unknown): string | null {
  return isObject(body) && typeof body.model === 'string' ? body.model : null;
}
