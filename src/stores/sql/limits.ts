// The token-limit and budget columns agents and PATs share (migration 0006), and their mapping to
// SpendLimits. Limits are written by a separate UPDATE after the row's own INSERT (same transaction),
// so the identity inserts stay as they were.
import { SPEND_LIMIT_KEYS, type SpendLimits } from '../ports.js';

const COLUMN: Record<keyof SpendLimits, string> = {
  tpm: 'tpm',
  budgetUsdDay: 'budget_usd_day',
  budgetUsdWeek: 'budget_usd_week',
  budgetUsdMonth: 'budget_usd_month',
  budgetTokensDay: 'budget_tokens_day',
  budgetTokensWeek: 'budget_tokens_week',
  budgetTokensMonth: 'budget_tokens_month',
  budgetWarnPct: 'budget_warn_pct',
  budgetFallbackModel: 'budget_fallback_model',
};

export type LimitRow = { [K in keyof SpendLimits as (typeof COLUMN)[K]]?: SpendLimits[K] } & Record<string, unknown>;

/** `tpm, budget_usd_day, …` with an optional table alias (`p.`). */
export const limitCols = (alias = ''): string => SPEND_LIMIT_KEYS.map((k) => alias + COLUMN[k]).join(', ');

export function limitsFromRow(r: Record<string, unknown>): SpendLimits {
  const out = {} as Record<keyof SpendLimits, unknown>;
  for (const k of SPEND_LIMIT_KEYS) {
    const v = r[COLUMN[k]];
    out[k] = v === undefined || v === null ? null : k === 'budgetFallbackModel' ? String(v) : Number(v);
  }
  return out as SpendLimits;
}

/** The columns a patch sets (keys present in it, null included) and their values, in order. */
export function limitAssignments(patch: Partial<SpendLimits>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const k of SPEND_LIMIT_KEYS) {
    if (!(k in patch) || patch[k] === undefined) continue;
    columns.push(COLUMN[k]);
    values.push(patch[k]);
  }
  return { columns, values };
}
