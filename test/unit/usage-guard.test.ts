// The request path's view of budgets: what is held, what is refused (and how it reads), the
// fallback model, the headers, and how settle() turns the real usage into cost and counters.
import { describe, expect, it } from 'vitest';
import { SpendGuard } from '../../src/usage/guard.js';
import { PriceTable } from '../../src/usage/prices.js';
import { MemoryBudgetStore } from '../../src/stores/memory/budget-store.js';
import { IbexError } from '../../src/errors.js';
import { NO_SPEND_LIMITS, type Agent, type SpendLimits } from '../../src/stores/ports.js';

const NOW = Date.parse('2025-06-04T15:42:10Z');
const agentWith = (limits: Partial<SpendLimits>): Agent => ({
  name: 'support',
  description: null,
  rpm: null,
  enabled: true,
  createdAt: 0,
  ...NO_SPEND_LIMITS,
  ...limits,
});

function setup() {
  const store = new MemoryBudgetStore({ now: () => NOW });
  const logs: string[] = [];
  const guard = new SpendGuard({ store, prices: new PriceTable(), now: () => NOW, log: (_l, m) => logs.push(m) });
  return { store, guard, logs };
}

// 400 bytes → 100 prompt tokens; max_tokens 100 → 200 tokens; gpt-4o-mini: 100×0.15 + 100×0.6 = 75 µ$
const body = () => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 100 });
const req = (agent: Agent, b: unknown = body(), pat: { id: string; limits?: SpendLimits | null } = { id: 'pat_1' }) => ({
  agent,
  pat,
  body: b,
  bodyBytes: 400,
});

describe('SpendGuard', () => {
  it('holds nothing and asks no store when no limit applies', async () => {
    const { guard } = setup();
    expect(await guard.reserve(req(agentWith({})))).toEqual({ hold: null, headers: {} });
  });

  it('holds the estimate against tokens-per-minute and budgets, then refuses with 429 rate_limit_exceeded at the TPM', async () => {
    const { guard } = setup();
    const agent = agentWith({ tpm: 500 });
    expect((await guard.reserve(req(agent))).hold?.estimate.tokens).toBe(200);
    await guard.reserve(req(agent));
    const err = (await guard.reserve(req(agent)).catch((e: unknown) => e)) as IbexError;
    expect(err).toBeInstanceOf(IbexError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.message).toContain('500 tokens per minute');
    expect(Number(err.headers['retry-after'])).toBe(50); // 15:42:10 → 15:43:00
  });

  it('refuses an exhausted USD budget with budget_exceeded, naming it and its reset', async () => {
    const { guard } = setup();
    const agent = agentWith({ budgetUsdDay: 0.0002 }); // room for two estimates of 75 µ$
    await guard.reserve(req(agent));
    await guard.reserve(req(agent));
    const err = (await guard.reserve(req(agent)).catch((e: unknown) => e)) as IbexError;
    expect(err.status).toBe(429);
    expect(err.code).toBe('budget_exceeded');
    expect(err.message).toContain(`agent "support"'s daily USD budget ($0.0002)`);
    expect(err.message).toContain('($0.00015 spent or held)');
    expect(err.message).toContain('resets at 2025-06-05T00:00:00.000Z');
    expect(err.headers['x-ibex-budget-reset']).toBe('2025-06-05T00:00:00.000Z');
  });

  it('a PAT budget applies alongside the agent’s', async () => {
    const { guard } = setup();
    const pat = { id: 'pat_1', limits: { ...NO_SPEND_LIMITS, budgetTokensDay: 300 } };
    await guard.reserve(req(agentWith({}), body(), pat));
    const err = (await guard.reserve(req(agentWith({}), body(), pat)).catch((e: unknown) => e)) as IbexError;
    expect(err.code).toBe('budget_exceeded');
    expect(err.message).toContain("token pat_1's daily token budget (300 tokens)");
  });

  it('says what is left of USD budgets, and warns past the threshold (logged once per window)', async () => {
    const { guard, logs } = setup();
    const agent = agentWith({ budgetUsdDay: 0.0001, budgetWarnPct: 50 });
    const first = await guard.reserve(req(agent));
    expect(first.headers['x-ibex-budget-remaining-usd']).toBe('0.000025');
    expect(first.headers['x-ibex-budget-warning']).toMatch(/daily USD budget .* is 75% spent; resets 2025-06-05T00:00:00.000Z/);
    guard.settle(first.hold, { usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, provider: 'openai', model: 'gpt-4o-mini', answered: true });
    await new Promise((r) => setImmediate(r));
    await guard.reserve(req(agent));
    expect(logs.filter((l) => l.includes('75% spent'))).toHaveLength(1);
  });

  it('serves the fallback model instead of refusing once a budget is spent, and still counts it', async () => {
    const { guard, store } = setup();
    const agent = agentWith({ budgetUsdDay: 0.0001, budgetFallbackModel: 'gpt-4.1-nano' });
    await guard.reserve(req(agent));
    const b = body();
    const second = await guard.reserve(req(agent, b));
    expect(b.model).toBe('gpt-4.1-nano');
    expect(second.headers['x-ibex-budget-fallback']).toBe('gpt-4o-mini');
    // 100×0.1 + 100×0.4 = 50 µ$ at the fallback's price, counted past the budget
    expect(await store.read([second.hold!.counters[0]!.key])).toEqual([75 + 50]);
  });

  it('settle: cost at the served model’s price; counters replaced by the actual spend, released when nothing was answered', async () => {
    const { guard, store } = setup();
    const agent = agentWith({ budgetTokensDay: 10_000, budgetUsdDay: 1 });
    const a = await guard.reserve(req(agent));
    const [tokensKey, usdKey] = a.hold!.counters.map((c) => c.key);
    const cost = guard.settle(a.hold, {
      usage: { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 400 },
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      answered: true,
    });
    expect(cost).toBe(0.00042);
    await new Promise((r) => setImmediate(r));
    expect(await store.read([tokensKey!, usdKey!])).toEqual([1500, 420]);
    const b = await guard.reserve(req(agent));
    guard.settle(b.hold, { usage: null, provider: 'openai', model: 'gpt-4o-mini', answered: false });
    await new Promise((r) => setImmediate(r));
    expect(await store.read([tokensKey!, usdKey!])).toEqual([1500, 420]);
    const c = await guard.reserve(req(agent));
    guard.settle(c.hold, { usage: null, provider: 'openai', model: 'gpt-4o-mini', answered: true }); // may be billed: estimate stays
    await new Promise((r) => setImmediate(r));
    expect(await store.read([tokensKey!, usdKey!])).toEqual([1700, 495]);
  });

  it('an unknown model costs null', () => {
    const { guard } = setup();
    expect(guard.settle(null, { usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, provider: 'openai', model: 'mystery', answered: true })).toBeNull();
  });
});
