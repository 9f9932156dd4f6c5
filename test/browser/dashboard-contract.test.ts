// The dashboard's pages against the admin API contract (issue 16), before the gateway has those
// routes: the browser's requests to /admin/v1/* are answered here with contract-shaped fixtures
// (playwright's page.route), and the dashboard files are served by the real static handler. This
// checks that each page renders what the contract carries (and what it sends back on create,
// revoke, set, rollback); dashboard.test.ts checks the same pages against a real gateway.
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { registerDashboardRoutes } from '../../src/server/routes/dashboard.js';
import { ROOT } from '../helpers/gateway.js';
import { launchChromium, screenshotDir, skipReason } from './chromium.js';

const ADMIN = 'contract-fixture-admin-token';
const now = Date.now();
const iso = (agoMs: number) => new Date(now - agoMs).toISOString();

const DIRECTIVES = [
  { version: 3, text: 'You are the support agent.\nAnswer in English.\nBe brief.', sha256: 'c'.repeat(64), createdAt: iso(60_000) },
  { version: 2, text: 'You are the support agent.\nAnswer in French.', sha256: 'b'.repeat(64), createdAt: iso(3_600_000) },
  { version: 1, text: 'You are the support agent.', sha256: 'a'.repeat(64), createdAt: iso(86_400_000) },
];

function trace(i: number, over: Record<string, unknown> = {}) {
  return {
    requestId: `00000000-0000-4000-8000-00000000000${i}`,
    clientRequestId: null,
    sessionId: 'ses_fixture',
    agent: i % 2 ? 'support' : 'triage',
    patId: 'pat_1',
    model: i % 3 ? 'gpt-4o-mini' : 'gpt-4o',
    provider: 'openai',
    stream: i % 2 === 0,
    status: 200,
    errorCode: null,
    startedAt: now - i * 1000,
    totalMs: 200 + i * 30,
    upstreamTtfbMs: 120,
    upstreamMs: 180 + i * 30,
    overheadMs: 2.5,
    stages: { auth: 0.2, agent: 0.1, session: 0.6, directive: 0.1, forward: 180 },
    promptTokens: 40 + i,
    completionTokens: 12 + i,
    totalTokens: 52 + 2 * i,
    bytesIn: 300,
    bytesOut: 900,
    directiveVersion: i % 2 ? 3 : 2,
    costUsd: 0.0004 * i,
    ...over,
  };
}
const TRACES = [
  trace(1),
  // served by the second target of the chain, after the first failed
  trace(2, { model: 'fast', provider: 'backup', servedModel: 'gpt-4o-mini', attempts: [{ provider: 'openai', model: 'gpt-4o-mini', error: 'upstream_timeout' }] }),
  trace(3, { status: 502, errorCode: 'upstream_error' }),
  trace(4),
  trace(5),
];

const SESSION = {
  id: 'ses_fixture',
  agent: 'support',
  patId: 'pat_1',
  createdAt: iso(120_000),
  updatedAt: iso(60_000),
  turns: 2,
  promptTokens: 120,
  completionTokens: 40,
  status: 'active',
  checkpoints: [
    {
      seq: 1,
      requestId: TRACES[0]!.requestId,
      clientRequestId: null,
      model: 'gpt-4o-mini',
      directiveVersion: 3,
      messages: [
        { role: 'system', content: DIRECTIVES[0]!.text },
        { role: 'system', content: "The caller's own system prompt." },
        { role: 'user', content: 'What is the weather in Paris?' },
      ],
      reply: 'Let me look that up.',
      finishReason: 'tool_calls',
      usage: { promptTokens: 50, completionTokens: 10, totalTokens: 60 },
      status: 'ok',
      errorCode: null,
      stream: false,
      createdAt: iso(120_000),
      costUsd: 0.0012,
    },
    {
      seq: 2,
      requestId: TRACES[1]!.requestId,
      clientRequestId: 'client-42',
      model: 'gpt-4o-mini',
      directiveVersion: 3,
      messages: [
        { role: 'system', content: DIRECTIVES[0]!.text },
        { role: 'system', content: "The caller's own system prompt." },
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
      reply: 'It is 21 °C in Paris.',
      finishReason: 'stop',
      usage: { promptTokens: 70, completionTokens: 30, totalTokens: 100, cachedTokens: 40 },
      status: 'ok',
      errorCode: null,
      stream: true,
      createdAt: iso(60_000),
      costUsd: 0.0021,
    },
  ],
};

/** The contract's answers, plus what the page sent (to assert on writes). */
function fixtureApi() {
  const sent: { method: string; path: string; body: unknown }[] = [];
  let revoked: string | null = null;
  let directives = [...DIRECTIVES];
  // How versions are served (GET /directives/{agent}'s `deploy`), as the gateway keeps it.
  let deploy: { stable: number; latest: number; canary: { version: number; percent: number } | null; rollout: string } = {
    stable: DIRECTIVES[0]!.version,
    latest: DIRECTIVES[0]!.version,
    canary: null,
    rollout: 'new-sessions',
  };
  const answers = (method: string, path: string, body: unknown): [number, unknown] => {
    const p = path.replace(/\?.*$/, '');
    if (method === 'GET' && p === '/overview')
      return [200, { window: '5m', requests: 1234, rps: 4.11, errorRate: 0.012, latency: { p50: 212, p99: 1480 }, overhead: { p50: 1.9, p99: 6.2 }, costTodayUsd: 3.1415, topAgents: [{ agent: 'support', requests: 900 }, { agent: 'triage', requests: 334 }], topModels: [{ model: 'gpt-4o-mini', requests: 1000 }, { model: 'gpt-4o', requests: 234 }], series: Array.from({ length: 30 }, (_, i) => ({ t: iso((30 - i) * 10_000), requests: 30 + Math.round(15 * Math.sin(i / 3)), errors: i % 7 === 0 ? 2 : 0 })) }];
    if (method === 'GET' && p === '/sessions') return [200, { data: [SESSION].map(({ checkpoints: _, ...s }) => s), next_cursor: null }];
    if (method === 'GET' && p === '/sessions/ses_fixture') return [200, SESSION];
    if (method === 'GET' && p === '/agents')
      return [200, { data: [{ name: 'support', description: 'Customer support', rpm: 600, disabled: false, createdAt: iso(9e7), directiveVersion: directives[0]!.version, tpm: 200000, budgetUsdDay: 25, budgetUsdWeek: null, budgetUsdMonth: 500, budgetTokensDay: null, budgetTokensWeek: null, budgetTokensMonth: null, budgetFallbackModel: 'gpt-4.1-nano', contentMode: 'redacted' }, { name: 'triage', description: null, rpm: null, disabled: true, createdAt: iso(8e7), directiveVersion: null }], next_cursor: null }];
    if (method === 'GET' && p === '/pats')
      return [200, { data: [{ id: 'pat_1', prefix: 'ibex_pat_Ab12', name: 'laptop', agents: ['support'], rpm: null, createdAt: iso(5e6), expiresAt: null, revokedAt: revoked === 'pat_1' ? iso(0) : null }, { id: 'pat_2', prefix: 'ibex_pat_Cd34', name: 'ci', agents: ['support', 'triage'], rpm: 60, createdAt: iso(4e6), expiresAt: iso(86_400_000), revokedAt: null }], next_cursor: null }];
    if (method === 'POST' && p === '/pats') return [201, { id: 'pat_3', token: 'ibex_pat_NEWTOKENshownonce0123456789', prefix: 'ibex_pat_NEWT', agents: (body as { agents: string[] }).agents, name: 'new', expiresAt: null }];
    if (method === 'POST' && p === '/pats/pat_1/revoke') {
      revoked = 'pat_1';
      return [200, { id: 'pat_1', revokedAt: iso(0), alreadyRevoked: false }];
    }
    if (method === 'GET' && p === '/directives/support') return [200, { agent: 'support', current: directives[0]!.version, data: directives, deploy }];
    if (method === 'POST' && p === '/directives/support') {
      const b = body as { text: string; ifVersion?: number; canary?: number };
      if (b.ifVersion !== directives[0]!.version) return [409, { error: { message: 'stale', type: 'invalid_request_error', code: 'conflict', param: 'ifVersion' } }];
      const v = { version: directives[0]!.version + 1, text: b.text, sha256: 'd'.repeat(64), createdAt: iso(0) };
      directives = [v, ...directives];
      deploy = b.canary ? { ...deploy, latest: v.version, canary: { version: v.version, percent: b.canary } } : { ...deploy, stable: v.version, latest: v.version, canary: null };
      return [201, v];
    }
    if (method === 'POST' && p === '/directives/support/promote') {
      if (!deploy.canary) return [409, { error: { message: 'no canary', type: 'invalid_request_error', code: 'conflict', param: null } }];
      deploy = { ...deploy, stable: deploy.canary.version, canary: null };
      return [200, deploy];
    }
    if (method === 'GET' && p === '/directives/support/diff')
      return [200, { from: 2, to: 3, diff: '--- v2\n+++ v3\n@@ -1,2 +1,3 @@\n You are the support agent.\n-Answer in French.\n+Answer in English.\n+Be brief.' }];
    if (method === 'GET' && p === '/traces') return [200, { data: TRACES.map((t) => ({ ...t, startedAt: new Date(t.startedAt).toISOString() })), next_cursor: null }];
    if (method === 'GET' && p === '/usage')
      return [200, { by: 'agent', since: '7d', rows: [{ key: 'support', requests: 900, promptTokens: 120_000, completionTokens: 30_000, costUsd: 2.5 }, { key: 'triage', requests: 334, promptTokens: 40_000, completionTokens: 9_000, costUsd: 0.64 }] }];
    if (method === 'GET' && p === '/providers')
      return [200, { providers: [{ id: 'openai', kind: 'openai', baseUrl: 'https://api.openai.com/v1', keyStrategy: 'round_robin', keys: [{ key: 'sk-…a1b2', coolingUntil: null, uses: 800, cooldowns: 0 }, { key: 'sk-…c3d4', coolingUntil: iso(-30_000), uses: 434, cooldowns: 3 }], health: { requests: 1234, errors: 15, lastSuccessAt: iso(1000), lastError: { at: iso(2000), status: 503, message: 'HTTP 503' }, breakers: [{ model: 'gpt-4o', state: 'open', openUntil: iso(-20_000), consecutiveFailures: 3, opened: 1 }] } }] }];
    return [404, { error: { message: `No route ${method} /admin/v1${p}.`, type: 'invalid_request_error', code: 'not_found', param: null } }];
  };
  const handle = async (route: Route) => {
    const req = route.request();
    const path = new URL(req.url()).pathname.replace('/admin/v1', '') + (new URL(req.url()).search ?? '');
    if (req.headers()['authorization'] !== `Bearer ${ADMIN}`) {
      return route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { message: 'bad admin token', type: 'invalid_request_error', code: 'invalid_admin_token', param: null } }) });
    }
    if (path.startsWith('/events')) {
      // One burst of traces (oldest first, like the real stream) to the live feed's first stream
      // (the sign-in check opens one too, without asking for text/event-stream), then the stream
      // ends; the dashboard reconnects and later bursts are empty.
      const isFeed = req.headers()['accept'] === 'text/event-stream';
      const first = isFeed && !sent.some((s) => s.path.startsWith('/events') && s.body === 'feed');
      sent.push({ method: req.method(), path, body: isFeed ? 'feed' : null });
      const body = first ? `: connected\n\n${[...TRACES].reverse().map((t) => `event: trace\ndata: ${JSON.stringify(t)}\n\n`).join('')}` : ': connected\n\n';
      return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body });
    }
    const body = req.postData() ? JSON.parse(req.postData()!) : undefined;
    sent.push({ method: req.method(), path, body });
    const [status, json] = answers(req.method(), path, body);
    return route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(json) });
  };
  return { sent, handle };
}

const skip = skipReason();
if (skip) console.warn(skip);

// Under CI load a browser page can take a while: give each test room, and playwright's own waits
// (20 s) time out first with a message naming what was awaited.
describe.skipIf(skip !== null)('dashboard pages against the admin API contract (fixtures)', { timeout: 60_000 }, () => {
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let shots: string;
  let api: ReturnType<typeof fixtureApi>;
  const errors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const go = async (hash: string) => {
    await page.goto(`${base}/dashboard/${hash}`);
    await page.locator('main .page').waitFor();
  };

  beforeAll(async () => {
    shots = join(screenshotDir(), 'contract');
    app = Fastify();
    registerDashboardRoutes(app, { dir: join(ROOT, 'dist/dashboard') });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    api = fixtureApi();
    await page.route('**/admin/v1/**', api.handle);
    await page.goto(`${base}/dashboard/`);
    await page.locator('input[name=token]').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('nav.nav').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('overview: the contract figures, series chart and top lists', async () => {
    await go('#/overview');
    const stats = page.locator('[data-testid=overview-stats]');
    await stats.waitFor();
    const text = await stats.textContent();
    expect(text).toContain('4.11');
    expect(text).toContain('1.2%');
    expect(text).toContain('212 ms / 1480 ms');
    expect(text).toContain('$3.14');
    expect(await page.locator('.bars').first().textContent()).toContain('support');
    expect(await page.locator('[data-testid=overview-fallback]').count()).toBe(0);
    await shot('overview');
  });

  it('live: the streamed traces, the error filter, and a trace with its stages', async () => {
    await go('#/live');
    await page.locator(`tr[data-request-id="${TRACES[0]!.requestId}"]`).waitFor();
    expect(await page.locator('[data-testid=live-table] tbody tr').count()).toBe(TRACES.length);
    // Newest first: the stream sent trace 5 first and trace 1 last.
    expect(await page.locator('[data-testid=live-table] tbody tr').first().getAttribute('data-request-id')).toBe(TRACES[0]!.requestId);
    await page.locator('select[aria-label=status]').selectOption('errors');
    expect(await page.locator('[data-testid=live-table] tbody tr').count()).toBe(1);
    expect(await page.locator('[data-testid=live-table] tbody tr').textContent()).toContain('upstream_error');
    await shot('live-errors');
    await page.locator('select[aria-label=status]').selectOption('all');
    await page.locator(`tr[data-request-id="${TRACES[2]!.requestId}"]`).click();
    const panel = page.locator('[data-testid=trace-panel]');
    await panel.waitFor();
    expect(await panel.textContent()).toContain('forward');
    await shot('live-trace');
    // a fallback: who served, and what failed first
    await page.locator(`tr[data-request-id="${TRACES[1]!.requestId}"]`).click();
    await panel.locator('[data-testid=attempts]').waitFor();
    expect(await panel.locator('[data-testid=attempts]').textContent()).toBe('openai/gpt-4o-mini (upstream_timeout)');
    expect(await panel.textContent()).toContain('fast / backup serving gpt-4o-mini');
  });

  it('sessions: the list, and the conversation with the directive first, tool calls, reply, usage and cost', async () => {
    await go('#/sessions');
    await page.locator('tr[data-session-id=ses_fixture]').click();
    const turns = page.locator('[data-testid=checkpoint]');
    await turns.first().waitFor();
    expect(await turns.count()).toBe(2);
    for (const i of [0, 1]) {
      const first = turns.nth(i).locator('.msg').first();
      expect(await first.getAttribute('data-testid')).toBe('directive');
      expect(await first.textContent()).toContain('v3');
    }
    // Turn 2 shows only what is new since turn 1: the tool call and its result, not the question again.
    const second = turns.nth(1);
    expect(await second.textContent()).toContain('get_weather');
    expect(await second.textContent()).toContain('{"city":"Paris"}');
    expect(await second.textContent()).toContain('{"temp":21}');
    expect(await second.textContent()).not.toContain('What is the weather in Paris?');
    expect(await second.locator('[data-testid=reply]').textContent()).toContain('21 °C');
    expect(await second.textContent()).toContain('40 cached');
    expect(await second.textContent()).toContain('$0.0021');
    await shot('session');
  });

  it('agents & PATs: lists, issuing a PAT shows its token once, revoking calls the route', async () => {
    await go('#/agents');
    await page.locator('tr[data-agent=support]').waitFor();
    expect(await page.locator('tr[data-agent=triage] .badge').textContent()).toBe('disabled');
    expect(await page.locator('tr[data-pat-id=pat_2] .badge').textContent()).toBe('expired');
    // limits and budgets as the API gives them, and a content mode other than full
    expect(await page.locator('tr[data-agent=support] [data-testid=agent-limits]').textContent()).toBe(
      '200,000 tokens/min · $25.00/day · $500.00/month · then gpt-4.1-nano content: redacted',
    );
    expect(await page.locator('tr[data-agent=triage] [data-testid=agent-limits]').textContent()).toBe('none');
    await shot('agents');

    await page.locator('select[aria-label="agents of the new PAT"]').selectOption('support');
    await page.getByRole('button', { name: 'Issue PAT' }).click();
    await page.locator('[data-testid=new-token]', { hasText: 'ibex_pat_NEWTOKENshownonce0123456789' }).waitFor();
    expect(api.sent.find((s) => s.method === 'POST' && s.path === '/pats')?.body).toEqual({ agents: ['support'] });
    await shot('agents-new-token');
    await page.getByRole('button', { name: 'Done' }).click();

    const row = page.locator('tr[data-pat-id=pat_1]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect(api.sent.some((s) => s.method === 'POST' && s.path === '/pats/pat_1/revoke')).toBe(true);
  });

  it('directives: history, diff, per-version stats; saving sends ifVersion', async () => {
    await go('#/directives/support');
    await page.locator('[data-testid=current-directive]', { hasText: 'Be brief.' }).waitFor();
    expect(await page.locator('[data-testid=directive-history] tbody tr').count()).toBe(3);
    const diff = page.locator('[data-testid=diff]');
    await diff.waitFor();
    expect(await diff.locator('.del').textContent()).toBe('-Answer in French.');
    const stats = page.locator('[data-testid=version-stats]');
    await stats.waitFor();
    expect(await stats.locator('tbody tr').count()).toBe(2); // v3 and v2
    await shot('directives');

    await page.locator('textarea[aria-label="directive text"]').fill('You are the support agent. v4.');
    await page.getByRole('button', { name: 'Save as v4' }).click();
    await page.locator('[data-testid=directive-saved]', { hasText: 'Saved v4' }).waitFor();
    expect(api.sent.find((s) => s.method === 'POST' && s.path === '/directives/support')?.body).toEqual({ text: 'You are the support agent. v4.', ifVersion: 3 });
  });

  it('directives: a canary is set from the form, shown beside the stable version, and promoted', async () => {
    await go('#/directives/support');
    await page.locator('[data-testid=current-directive]', { hasText: 'v4.' }).waitFor();
    await page.locator('textarea[aria-label="directive text"]').fill('You are the support agent. v5, in canary.');
    await page.locator('input[aria-label="canary percent"]').fill('20');
    // An earlier save's note does not stay to describe what is being typed now
    expect(await page.locator('[data-testid=directive-saved]').count()).toBe(0);
    await page.getByRole('button', { name: 'Save as v5' }).click();
    await page.locator('[data-testid=directive-saved]', { hasText: 'Saved v5; 20% of new sessions' }).waitFor();
    expect(api.sent.filter((s) => s.method === 'POST' && s.path === '/directives/support').at(-1)?.body).toEqual({ text: 'You are the support agent. v5, in canary.', ifVersion: 4, canary: 20 });
    // The stable version is what most sessions get; the canary is named with its share.
    const note = page.locator('[data-testid=canary]');
    await note.waitFor();
    expect(await note.textContent()).toContain('Canary: v5 serves 20% of new sessions; the others get v4.');
    expect(await page.locator('.card header h2').first().textContent()).toBe('Stable: v4');
    expect(await page.locator('tr[data-version="5"] .badge').textContent()).toBe('canary 20%');
    expect(await page.locator('tr[data-version="4"] .badge').textContent()).toBe('stable');
    await shot('directives-canary');

    await note.getByRole('button', { name: 'Promote v5' }).click();
    await note.getByRole('button', { name: /Serve v5 to every new session/ }).click();
    await page.locator('[data-testid=canary]').waitFor({ state: 'detached' });
    expect(api.sent.some((s) => s.method === 'POST' && s.path === '/directives/support/promote')).toBe(true);
    await page.locator('tr[data-version="5"] .badge', { hasText: 'current' }).waitFor();
  });

  it('usage and providers', async () => {
    await go('#/usage');
    await page.locator('[data-testid=usage-table]', { hasText: 'support' }).waitFor();
    expect(await page.locator('.bars').textContent()).toContain('$2.50');
    await shot('usage');
    await go('#/providers');
    const p = page.locator('[data-provider=openai]');
    await p.waitFor();
    expect(await page.locator('main').textContent()).toContain('cooling');
    // the last error as the API sends it (an object), and the circuit breaker
    expect(await p.textContent()).toContain('HTTP 503');
    expect(await p.locator('[data-testid=breakers]').textContent()).toMatch(/gpt-4o open until .*tried last.*3 failures in a row, opened 1×/);
    await shot('providers');
  });

  it('raised no page error', () => {
    expect(errors).toEqual([]);
  });
});
