// Which counters a request is held against: for each subject (the agent, the PAT) that has limits,
// one counter per limit — tokens per minute, and USD / token budgets per UTC day, week and month.
// Counters are keyed by subject, unit, window and the window's start, so they roll over by themselves.
import type { SpendCounter, SpendLimits } from '../stores/ports.js';
import { toMicroUsd } from './cost.js';
import { windowAt, type SpendWindow } from './windows.js';

export type SubjectKind = 'agent' | 'pat';
export type SpendUnit = 'tokens' | 'usd';

/** How long a counter outlives its window: a replica whose clock lags still finds it. */
export const COUNTER_SLACK_MS = 60_000;

/** Percentage of a budget at which the warning starts, when the subject names none. */
export const DEFAULT_WARN_PCT = 80;

export interface Subject {
  kind: SubjectKind;
  /** Agent name or PAT id */
  id: string;
  limits: SpendLimits;
}

/** A counter with what the pipeline needs to explain it. */
export interface LimitCounter extends SpendCounter {
  subject: Subject;
  unit: SpendUnit;
  window: SpendWindow;
  /** The limit as configured (tokens, or USD) */
  configured: number;
  /** epoch ms when the window ends (the counter starts again from 0) */
  resetAt: number;
  /** tpm is a rate limit (429 rate_limit_exceeded); the rest are budgets (429 budget_exceeded) */
  budget: boolean;
}

const LIMITS: readonly { field: keyof SpendLimits; unit: SpendUnit; window: SpendWindow }[] = [
  { field: 'tpm', unit: 'tokens', window: 'minute' },
  { field: 'budgetTokensDay', unit: 'tokens', window: 'day' },
  { field: 'budgetTokensWeek', unit: 'tokens', window: 'week' },
  { field: 'budgetTokensMonth', unit: 'tokens', window: 'month' },
  { field: 'budgetUsdDay', unit: 'usd', window: 'day' },
  { field: 'budgetUsdWeek', unit: 'usd', window: 'week' },
  { field: 'budgetUsdMonth', unit: 'usd', window: 'month' },
];

/** True when the subject has any limit that needs counting. */
export function hasSpendLimits(l: Partial<SpendLimits> | null | undefined): boolean {
  if (!l) return false;
  return LIMITS.some(({ field }) => typeof l[field] === 'number');
}

/** The counters of every subject's limits at `now`. */
export function countersFor(subjects: readonly Subject[], now: number): LimitCounter[] {
  const out: LimitCounter[] = [];
  for (const subject of subjects) {
    for (const { field, unit, window } of LIMITS) {
      const configured = subject.limits[field];
      if (typeof configured !== 'number') continue;
      const span = windowAt(window, now);
      out.push({
        key: `spend:${subject.kind}:${subject.id}:${unit}:${window}:${span.start}`,
        limit: unit === 'usd' ? toMicroUsd(configured) : Math.floor(configured),
        ttlMs: span.end - now + COUNTER_SLACK_MS,
        subject,
        unit,
        window,
        configured,
        resetAt: span.end,
        budget: field !== 'tpm',
      });
    }
  }
  return out;
}

/** One counter's amount for a spend of `tokens` tokens and `microUsd` micro-dollars. */
export function amountFor(c: { unit: SpendUnit }, tokens: number, microUsd: number): number {
  return c.unit === 'usd' ? microUsd : tokens;
}

const WINDOW_WORD: Record<SpendWindow, string> = { minute: 'per-minute', day: 'daily', week: 'weekly', month: 'monthly' };

/** `agent "support"'s daily USD budget ($5.00)` */
export function describeCounter(c: LimitCounter): string {
  const who = c.subject.kind === 'agent' ? `agent "${c.subject.id}"` : `token ${c.subject.id}`;
  const amount = c.unit === 'usd' ? formatUsd(c.configured) : `${c.configured} tokens`;
  if (!c.budget) return `${who}'s token rate limit (${c.configured} tokens per minute)`;
  return `${who}'s ${WINDOW_WORD[c.window]} ${c.unit === 'usd' ? 'USD' : 'token'} budget (${amount})`;
}

/** `$5.00`, `$0.0002`: cents for real budgets, every digit for tiny ones. */
export function formatUsd(usd: number): string {
  return usd >= 0.01 || usd === 0 ? `$${usd.toFixed(2)}` : `$${Number(usd.toPrecision(6))}`;
}
