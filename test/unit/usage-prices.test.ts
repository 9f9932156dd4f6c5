import { describe, expect, it } from 'vitest';
import { BUILTIN_PRICES_UPDATED, PriceTable } from '../../src/usage/prices.js';
import { costUsd, toMicroUsd } from '../../src/usage/cost.js';
import { DEFAULT_OUTPUT_TOKENS, estimateSpend, requestedOutputTokens } from '../../src/usage/estimate.js';
import { windowAt } from '../../src/usage/windows.js';
import { countersFor, describeCounter } from '../../src/usage/budgets.js';
import { NO_SPEND_LIMITS } from '../../src/stores/ports.js';
import builtin from '../../src/usage/prices.json' with { type: 'json' };

describe('price table', () => {
  const table = new PriceTable();

  it('is dated and every entry has input, cached input and output prices', () => {
    expect(BUILTIN_PRICES_UPDATED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [key, p] of Object.entries(builtin.models)) {
      expect(key, key).toMatch(/^[a-z]+\/[\w.-]+$/);
      for (const v of [p.input, p.cachedInput, p.output]) expect(v, key).toBeGreaterThanOrEqual(0);
      expect(p.cachedInput, key).toBeLessThanOrEqual(p.input);
    }
  });

  it('finds a model by provider/model, by bare name under any provider name, and by a prefixed name', () => {
    expect(table.lookup('openai', 'gpt-4o-mini')).toMatchObject({ key: 'openai/gpt-4o-mini', input: 0.15, cachedInput: 0.075, output: 0.6 });
    expect(table.lookup('backup', 'gpt-4o-mini')?.key).toBe('openai/gpt-4o-mini');
    expect(table.lookup(null, 'openai/gpt-4o-mini')?.key).toBe('openai/gpt-4o-mini');
    expect(table.lookup(null, 'gpt-4o')?.key).toBe('openai/gpt-4o'); // not confused with gpt-4o-mini
    expect(table.lookup(null, 'gpt-4o-mini')?.key).toBe('openai/gpt-4o-mini');
  });

  it('tolerates dated snapshot suffixes', () => {
    expect(table.lookup('openai', 'gpt-4o-mini-2024-07-18')?.key).toBe('openai/gpt-4o-mini');
    expect(table.lookup('anthropic', 'claude-3-5-haiku-20241022')?.key).toBe('anthropic/claude-3-5-haiku');
    expect(table.lookup(null, 'claude-sonnet-4-5@20250929')?.key).toBe('anthropic/claude-sonnet-4-5');
    expect(table.lookup(null, 'gpt-4o-latest')?.key).toBe('openai/gpt-4o');
  });

  it('unknown models have no price (null, not 0)', () => {
    expect(table.lookup('openai', 'my-finetune')).toBeNull();
    expect(table.lookup(null, 'm')).toBeNull();
    expect(table.lookup('openai', null)).toBeNull();
  });

  it('overrides win over the built-in table, exact provider/model first; cachedInput defaults to input', () => {
    const t = new PriceTable({
      'openai/gpt-4o-mini': { input: 1, cachedInput: 0.5, output: 2 },
      'my-model': { input: 3, output: 4 },
      'azure/gpt-4o': { input: 9, output: 9 },
    });
    expect(t.lookup('openai', 'gpt-4o-mini')).toMatchObject({ input: 1, source: 'override' });
    expect(t.lookup('other', 'my-model')).toMatchObject({ input: 3, cachedInput: 3, output: 4 });
    expect(t.lookup('azure', 'gpt-4o')?.input).toBe(9);
    expect(t.lookup('openai', 'gpt-4o')).toMatchObject({ input: 2.5, source: 'builtin' });
  });
});

describe('cost', () => {
  const price = { input: 0.15, cachedInput: 0.075, output: 0.6 };

  it('prices uncached input, cached input and output at their rates (USD per 1M tokens)', () => {
    // 1000 prompt (400 cached) + 500 completion: 600×0.15 + 400×0.075 + 500×0.6 = 90 + 30 + 300 = 420 µ$
    expect(costUsd({ promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 400 }, price)).toBe(0.00042);
    expect(costUsd({ promptTokens: 1_000_000, completionTokens: 1_000_000, totalTokens: 2_000_000 }, price)).toBe(0.75);
  });

  it('reasoning tokens are output tokens (already inside completionTokens), not billed twice', () => {
    const withReasoning = costUsd({ promptTokens: 10, completionTokens: 100, totalTokens: 110, reasoningTokens: 80 }, price);
    expect(withReasoning).toBe(costUsd({ promptTokens: 10, completionTokens: 100, totalTokens: 110 }, price));
  });

  it('is null without a price or without usage', () => {
    expect(costUsd({ promptTokens: 1, completionTokens: 1, totalTokens: 2 }, null)).toBeNull();
    expect(costUsd(null, price)).toBeNull();
  });

  it('matches the built-in table for a dated snapshot', () => {
    const t = new PriceTable();
    const usage = { promptTokens: 2_000, completionTokens: 1_000, totalTokens: 3_000 };
    expect(costUsd(usage, t.lookup('openai', 'gpt-4o-2024-08-06'))).toBe(0.015); // 2000×2.5 + 1000×10 = 15000 µ$
  });

  it('micro-dollars round up, so a budget never under-counts', () => {
    expect(toMicroUsd(0.00042)).toBe(420);
    expect(toMicroUsd(0.0000001)).toBe(1);
    expect(toMicroUsd(null)).toBe(0);
  });
});

describe('estimate', () => {
  it('is the body size / 4 plus the output maximum the request allows', () => {
    expect(requestedOutputTokens({ max_tokens: 100 })).toBe(100);
    expect(requestedOutputTokens({ max_completion_tokens: 50, max_tokens: 100 })).toBe(50);
    expect(requestedOutputTokens({ max_output_tokens: 70 })).toBe(70);
    expect(requestedOutputTokens({})).toBeNull();
    const e = estimateSpend({ max_tokens: 100 }, 400, { input: 1, cachedInput: 1, output: 2 });
    expect(e).toEqual({ promptTokens: 100, outputTokens: 100, tokens: 200, usd: (100 * 1 + 100 * 2) / 1e6 });
    expect(estimateSpend({}, 4, null)).toMatchObject({ tokens: 1 + DEFAULT_OUTPUT_TOKENS, usd: 0 });
  });
});

describe('windows (UTC)', () => {
  const at = (iso: string) => Date.parse(iso);
  it('minute, day, ISO week (Monday) and month', () => {
    const t = at('2025-06-04T15:42:10.500Z'); // a Wednesday
    expect(windowAt('minute', t)).toEqual({ start: at('2025-06-04T15:42:00Z'), end: at('2025-06-04T15:43:00Z') });
    expect(windowAt('day', t)).toEqual({ start: at('2025-06-04T00:00:00Z'), end: at('2025-06-05T00:00:00Z') });
    expect(windowAt('week', t)).toEqual({ start: at('2025-06-02T00:00:00Z'), end: at('2025-06-09T00:00:00Z') });
    expect(windowAt('month', t)).toEqual({ start: at('2025-06-01T00:00:00Z'), end: at('2025-07-01T00:00:00Z') });
    expect(windowAt('week', at('2025-06-08T23:59:59Z')).start).toBe(at('2025-06-02T00:00:00Z')); // Sunday ends the week
    expect(windowAt('week', at('2025-06-09T00:00:00Z')).start).toBe(at('2025-06-09T00:00:00Z'));
    expect(windowAt('month', at('2024-12-31T23:00:00Z')).end).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowAt('month', at('2024-02-10T00:00:00Z')).end).toBe(at('2024-03-01T00:00:00Z'));
  });

  it('counters are keyed by subject, unit, window and its start; USD limits count micro-dollars', () => {
    const now = at('2025-06-04T15:42:10Z');
    const cs = countersFor([{ kind: 'agent', id: 'support', limits: { ...NO_SPEND_LIMITS, tpm: 1000, budgetUsdDay: 5 } }], now);
    expect(cs.map((c) => [c.key, c.limit, c.budget])).toEqual([
      [`spend:agent:support:tokens:minute:${at('2025-06-04T15:42:00Z')}`, 1000, false],
      [`spend:agent:support:usd:day:${at('2025-06-04T00:00:00Z')}`, 5_000_000, true],
    ]);
    expect(cs[1]!.resetAt).toBe(at('2025-06-05T00:00:00Z'));
    expect(cs[1]!.ttlMs).toBeGreaterThan(at('2025-06-05T00:00:00Z') - now);
    expect(describeCounter(cs[1]!)).toBe(`agent "support"'s daily USD budget ($5.00)`);
  });
});
