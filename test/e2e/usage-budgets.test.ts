// Issue 14 end to end, through real `ibex serve` processes:
// - a chat stream whose caller did not ask for usage is recorded with its usage (ibex asked the
//   provider), and the caller's bytes are the provider's minus exactly the usage chunk;
// - two replicas on one Redis + Postgres enforce ONE budget: however requests are spread over them,
//   what was spent stays within the budget plus one request's estimate; `ibex usage` totals equal the
//   sum of the traces;
// - IBEX_BUDGET_ON_STORE_ERROR=closed refuses with 503 while Redis is cut, and counts it in a metric.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { CuttableProxy, deleteKeys, describeWithRedis, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import type { Trace } from '../../src/stores/ports.js';

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

const chat = (gw: TestGateway, token: string, body: Record<string, unknown>): Promise<Reply> =>
  request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], ...body }),
  }).then(async (r) => ({ status: r.statusCode, headers: r.headers, text: await r.body.text() }));

/** Ids and timestamps differ per request; everything else must be byte for byte the same. */
const normalise = (sse: string) => sse.replace(/"id":"chatcmpl-[^"]+"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');

async function tracesOf(gw: TestGateway, agent: string, want: number): Promise<Trace[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await gw.cli(['traces', 'list', '--agent', agent, '--limit', '10000', '--json']);
    const traces = JSON.parse(r.stdout) as Trace[];
    if (traces.length >= want || Date.now() > deadline) return traces;
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('usage on every stream (embedded)', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ mock: { chunks: 5 } });
    ({ token } = await provision(gw, 'streamer'));
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('records the usage of a stream that did not ask for it; the caller gets the provider stream minus the usage chunk', async () => {
    const viaGateway = await chat(gw, token, { stream: true });
    expect(viaGateway.status).toBe(200);
    // ibex asked the provider for usage on the caller's behalf
    expect(gw.mock!.stats.lastRequest?.body?.stream_options).toEqual({ include_usage: true });
    // What the provider sends for the same request with include_usage, fetched directly
    const direct = await request(`${gw.mock!.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(gw.mock!.stats.lastRequest!.body),
    }).then((r) => r.body.text());
    const usageChunk = /data: \{[^\n]*"choices":\[\],"usage":\{[^\n]*\n\n/.exec(direct)?.[0];
    expect(usageChunk).toBeDefined();
    expect(viaGateway.text).not.toContain('"usage":{');
    expect(normalise(viaGateway.text)).toBe(normalise(direct.replace(usageChunk!, '')));

    const [trace] = await tracesOf(gw, 'streamer', 1);
    expect(trace!.stream).toBe(true);
    expect(trace!.totalTokens).toBeGreaterThan(0);
    // gpt-4o-mini is in the built-in table: 0.15 / 0.60 USD per 1M tokens
    expect(trace!.costUsd).toBeCloseTo((trace!.promptTokens! * 0.15 + trace!.completionTokens! * 0.6) / 1e6, 12);
  });

  it('a caller that asked for usage gets it, unchanged; an unknown model costs null', async () => {
    const asked = await chat(gw, token, { stream: true, stream_options: { include_usage: true } });
    expect(asked.text).toMatch(/"choices":\[\],"usage":\{"prompt_tokens"/);
    const unknown = await chat(gw, token, { model: 'mystery-model' });
    expect(unknown.status).toBe(200);
    const traces = await tracesOf(gw, 'streamer', 3);
    expect(traces.find((t) => t.model === 'mystery-model')).toMatchObject({ costUsd: null });
    expect(traces.find((t) => t.model === 'mystery-model')!.totalTokens).toBeGreaterThan(0);
  });
  it('ibex usage and GET /admin/v1/usage give the same totals, equal to the sum of the traces', async () => {
    const traces = await tracesOf(gw, 'streamer', 3);
    const cli = JSON.parse((await gw.cli(['usage', '--by', 'model', '--since', '1h', '--json'])).stdout) as {
      by: string;
      rows: { key: string; requests: number; totalTokens: number; costUsd: number; unpricedRequests: number }[];
      total: { requests: number; totalTokens: number; costUsd: number; unpricedRequests: number };
    };
    expect(cli.by).toBe('model');
    expect(cli.total.requests).toBe(traces.length);
    expect(cli.total.totalTokens).toBe(traces.reduce((s, t) => s + (t.totalTokens ?? 0), 0));
    expect(cli.total.costUsd).toBeCloseTo(traces.reduce((s, t) => s + (t.costUsd ?? 0), 0), 12);
    expect(cli.total.unpricedRequests).toBe(1);
    expect(cli.rows.find((r) => r.key === 'mystery-model')).toMatchObject({ requests: 1, costUsd: 0, unpricedRequests: 1 });

    const adminToken = readFileSync(join(gw.home, 'admin-token'), 'utf8').trim();
    const admin = await request(`${gw.url}/admin/v1/usage?by=model&since=1h`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(admin.statusCode).toBe(200);
    const body = (await admin.body.json()) as typeof cli;
    expect(body.rows).toEqual(cli.rows);
    expect(body.total).toEqual(cli.total);
    const noToken = await request(`${gw.url}/admin/v1/usage`);
    expect(noToken.statusCode).toBe(401);
    await noToken.body.dump();
    const bad = await request(`${gw.url}/admin/v1/usage?by=colour`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { param: string } }).error.param).toBe('by');

    const usageError = await gw.cli(['usage', '--by', 'colour'], { reject: false });
    expect(usageError.exitCode).toBe(2);
    expect(usageError.stderr).toContain('--by');
    const table = (await gw.cli(['usage', '--by', 'agent', '--since', '1h'])).stdout;
    expect(table).toMatch(/^AGENT +REQUESTS/m);
    expect(table).toMatch(/^streamer +3 /m);
    expect(table).toMatch(/^TOTAL +3 /m);
  });
});

describeWithPostgres('one budget across two replicas (Redis + Postgres)', () => {
  let pg: TestDatabase;
  let prefix: string;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    pg = await createTestDatabase('budgets');
    prefix = uniquePrefix('budgets-e2e');
    // closed: a Redis call that times out on this busy machine refuses (503) rather than letting an
    // uncounted request through, so the bound below holds whatever the load.
    const env = { IBEX_DATABASE_URL: pg.url, IBEX_REDIS_URL: REDIS_TEST_URL, IBEX_REDIS_PREFIX: prefix, IBEX_BUDGET_ON_STORE_ERROR: 'closed' };
    [a, b] = await Promise.all([
      startTestGateway({ env, home: mkdtempSync(join(tmpdir(), 'ibex-bud-a-')) }),
      startTestGateway({ env, home: mkdtempSync(join(tmpdir(), 'ibex-bud-b-')) }),
    ]);
    expect(a.output()).toContain('budgets: redis');
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await pg?.drop();
    if (prefix) await deleteKeys(prefix);
  });

  it('concurrent requests on both replicas never spend more than the budget plus one estimate', async () => {
    const BUDGET = 2000;
    const { token } = await provision(a, 'capped', { agentArgs: ['--budget-tokens-day', String(BUDGET)] });
    const body = { max_tokens: 60 };
    // This body's estimate: its bytes / 4 + max_tokens (src/usage/estimate.ts)
    const bytes = Buffer.byteLength(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], ...body }));
    const estimate = Math.ceil(bytes / 4) + 60;

    // Waves of concurrent requests until a whole wave is refused: reservations are released to the
    // (smaller) real spend after each reply, so a wave may be partly served until the budget is spent.
    let ok = 0;
    let refused: Reply | undefined;
    let waves = 0;
    for (let servedInWave = 1; servedInWave > 0 && waves < 40; waves++) {
      const replies = await Promise.all(Array.from({ length: 24 }, (_, i) => chat(i % 2 ? a : b, token, body)));
      servedInWave = 0;
      for (const r of replies) {
        if (r.status === 200) servedInWave++;
        else if (r.status === 429) refused ??= r;
        else expect(r.status).toBe(503); // the ledger did not answer in time (counted below)
      }
      ok += servedInWave;
    }
    expect(refused, 'the budget was never reached').toBeDefined();
    expect(waves).toBeLessThan(40);
    const err = JSON.parse(refused!.text) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('budget_exceeded');
    expect(err.error.message).toContain(`agent "capped"'s daily token budget (${BUDGET} tokens)`);
    expect(refused!.headers['x-ibex-budget-reset']).toMatch(/T00:00:00\.000Z$/);
    // Both replicas refuse now: one ledger.
    expect((await chat(a, token, body)).status).toBe(429);
    expect((await chat(b, token, body)).status).toBe(429);

    const traces = (await tracesOf(a, "capped", ok)).filter((t) => t.status === 200);
    expect(traces).toHaveLength(ok);
    const spent = traces.reduce((s, t) => s + (t.totalTokens ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(BUDGET + estimate);
    // and the budget was used, not refused early: less than one estimate was left, give or take the
    // requests whose reconcile did not reach Redis (they stay counted at their estimate)
    const storeErrors = async (gw: TestGateway) => {
      const text = await request(`${gw.url}/metrics`).then((r) => r.body.text());
      return Number(/ibex_budget_store_errors_total\{mode="closed"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const errors = (await storeErrors(a)) + (await storeErrors(b));
    expect(spent).toBeGreaterThan(BUDGET - estimate * (1 + errors));

    // `ibex usage` adds up to the traces
    const report = JSON.parse((await b.cli(['usage', '--by', 'agent', '--since', '1h', '--agent', 'capped', '--json'])).stdout) as {
      rows: { key: string; requests: number; totalTokens: number; costUsd: number }[];
      total: { requests: number; totalTokens: number; costUsd: number };
    };
    const all = await tracesOf(a, 'capped', ok);
    expect(report.total.requests).toBe(all.length);
    expect(report.total.totalTokens).toBe(all.reduce((s, t) => s + (t.totalTokens ?? 0), 0));
    expect(report.total.costUsd).toBeCloseTo(all.reduce((s, t) => s + (t.costUsd ?? 0), 0), 9);
    expect(report.rows).toEqual([expect.objectContaining({ key: 'capped', requests: all.length })]);
  }, 120_000);

  it('agent update changes the limits on running replicas at once; agent list --json shows them', async () => {
    const { token } = await provision(a, 'later', { agentArgs: ['--budget-usd-day', '5'] });
    const before = await chat(b, token, {});
    expect(before.status).toBe(200);
    expect(Number(before.headers['x-ibex-budget-remaining-usd'])).toBeGreaterThan(4.99);
    await a.cli(['agent', 'update', 'later', '--tpm', '1']);
    const listed = JSON.parse((await a.cli(['agent', 'list', '--json'])).stdout) as { name: string; tpm: number; budgetUsdDay: number }[];
    expect(listed.find((x) => x.name === 'later')).toMatchObject({ tpm: 1, budgetUsdDay: 5 });
    const deadline = Date.now() + 5_000;
    let r: Reply;
    do r = await chat(b, token, {});
    while (r.status === 200 && Date.now() < deadline);
    expect(r.status).toBe(429);
    expect(JSON.parse(r.text).error.code).toBe('rate_limit_exceeded');
    expect(r.headers['retry-after']).toBeDefined();
  }, 60_000);
});

describeWithRedis('budget store outage (IBEX_BUDGET_ON_STORE_ERROR=closed)', () => {
  let proxy: CuttableProxy;
  let gw: TestGateway;
  let prefix: string;

  beforeAll(async () => {
    proxy = new CuttableProxy();
    await proxy.up();
    prefix = uniquePrefix('budget-outage');
    gw = await startTestGateway({ env: { IBEX_REDIS_URL: proxy.url, IBEX_REDIS_PREFIX: prefix, IBEX_BUDGET_ON_STORE_ERROR: 'closed' } });
    expect(gw.output()).toContain('(on store error: closed)');
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await proxy?.down();
    if (prefix) await deleteKeys(prefix);
  });

  it('refuses budgeted requests with 503 while Redis is down, counts them, and serves again when it is back', async () => {
    const { token } = await provision(gw, 'guarded', { agentArgs: ['--budget-usd-month', '10'] });
    const free = await provision(gw, 'unbudgeted');
    expect((await chat(gw, token, {})).status).toBe(200);
    await proxy.down();
    const down = await chat(gw, token, {});
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text).error.code).toBe('service_unavailable');
    expect((await chat(gw, free.token, {})).status).toBe(200); // no budget, no ledger needed
    const metrics = await request(`${gw.url}/metrics`).then((r) => r.body.text());
    expect(metrics).toMatch(/ibex_budget_store_errors_total\{mode="closed"\} [1-9]/);
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.output()).toMatch(/budgets: \d+ call\(s\) to the budget store failed, handled as "closed"/);
    await proxy.up();
    const deadline = Date.now() + 10_000;
    let back: Reply;
    do back = await chat(gw, token, {});
    while (back.status !== 200 && Date.now() < deadline);
    expect(back.status).toBe(200);
  }, 60_000);
});
