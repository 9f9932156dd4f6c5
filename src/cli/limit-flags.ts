// The token-limit and budget flags shared by `agent create`, `agent update` and `pat create`
// (docs/usage-and-budgets.md). `off` clears a limit (on update); a bad value is a usage error naming
// the flag.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { SpendLimits } from '../stores/ports.js';
import { parseIntFlag } from './parse.js';

interface FlagSpec {
  flag: string;
  key: keyof SpendLimits;
  /** commander's camelCase name of the flag */
  opt: string;
  kind: 'int' | 'usd' | 'pct' | 'model';
  help: string;
}

const SPECS: readonly FlagSpec[] = [
  { flag: '--tpm', key: 'tpm', opt: 'tpm', kind: 'int', help: 'tokens per minute (prompt + completion)' },
  { flag: '--budget-usd-day', key: 'budgetUsdDay', opt: 'budgetUsdDay', kind: 'usd', help: 'USD per UTC day' },
  { flag: '--budget-usd-week', key: 'budgetUsdWeek', opt: 'budgetUsdWeek', kind: 'usd', help: 'USD per ISO week (Monday 00:00 UTC)' },
  { flag: '--budget-usd-month', key: 'budgetUsdMonth', opt: 'budgetUsdMonth', kind: 'usd', help: 'USD per calendar month (UTC)' },
  { flag: '--budget-tokens-day', key: 'budgetTokensDay', opt: 'budgetTokensDay', kind: 'int', help: 'tokens per UTC day' },
  { flag: '--budget-tokens-week', key: 'budgetTokensWeek', opt: 'budgetTokensWeek', kind: 'int', help: 'tokens per ISO week' },
  { flag: '--budget-tokens-month', key: 'budgetTokensMonth', opt: 'budgetTokensMonth', kind: 'int', help: 'tokens per calendar month' },
  { flag: '--budget-warn', key: 'budgetWarnPct', opt: 'budgetWarn', kind: 'pct', help: 'warn (header + log) at this % of a budget (default 80)' },
  {
    flag: '--budget-fallback-model',
    key: 'budgetFallbackModel',
    opt: 'budgetFallbackModel',
    kind: 'model',
    help: 'serve this model (or alias) instead of refusing once a budget is spent',
  },
];

export const LIMIT_FLAG_OPTIONS = SPECS.map((s) => s.opt);

/** Adds the limit flags to a command; `clearable`: the help says `off` clears one. */
export function addLimitFlags(cmd: Command, clearable = false): Command {
  for (const s of SPECS) cmd.option(`${s.flag} <${s.kind === 'model' ? 'model' : 'n'}>`, s.help + (clearable ? ' (`off` clears it)' : ''));
  return cmd;
}

/** The limits the flags set: absent flags are absent, `off` is null. */
export function parseLimitFlags(opts: Record<string, unknown>): Partial<SpendLimits> {
  const out: Partial<Record<keyof SpendLimits, unknown>> = {};
  for (const s of SPECS) {
    const raw = opts[s.opt];
    if (raw === undefined) continue;
    const text = String(raw);
    if (text === 'off' || text === 'none') {
      out[s.key] = null;
      continue;
    }
    switch (s.kind) {
      case 'int':
        out[s.key] = parseIntFlag(s.flag, text, 1, 1e15);
        break;
      case 'pct':
        out[s.key] = parseIntFlag(s.flag, text, 1, 100);
        break;
      case 'usd': {
        const n = Number(text);
        if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n) || n <= 0 || n > 1e9) {
          throw new UsageError(`${s.flag} must be an amount of USD above 0, like 5 or 12.50, got "${text}"`);
        }
        out[s.key] = n;
        break;
      }
      case 'model':
        if (text.length === 0 || text.length > 256) throw new UsageError(`${s.flag} must be a model name of 1–256 characters`);
        out[s.key] = text;
        break;
    }
  }
  return out as Partial<SpendLimits>;
}

/** `12 tpm, $5.00/day, 1000000 tokens/month` (empty when none) for one-line CLI messages. */
export function describeLimits(l: Partial<SpendLimits>): string {
  const parts: string[] = [];
  if (l.tpm) parts.push(`${l.tpm} tpm`);
  for (const [k, label] of [
    ['budgetUsdDay', 'day'],
    ['budgetUsdWeek', 'week'],
    ['budgetUsdMonth', 'month'],
  ] as const) {
    if (l[k]) parts.push(`$${l[k]!.toFixed(2)}/${label}`);
  }
  for (const [k, label] of [
    ['budgetTokensDay', 'day'],
    ['budgetTokensWeek', 'week'],
    ['budgetTokensMonth', 'month'],
  ] as const) {
    if (l[k]) parts.push(`${l[k]} tokens/${label}`);
  }
  if (l.budgetFallbackModel) parts.push(`fallback ${l.budgetFallbackModel}`);
  return parts.join(', ');
}
