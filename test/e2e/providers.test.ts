// Many providers through a real `ibex serve` configured by ibex.yaml (issue 13): fallback chains on
// 500 / 503 / 429 / TTFB timeout / connect refused of the first target and none on a 400; the
// served-provider headers; key pools (rotation after a 429, cooldown, all keys cooling → the next
// target); aliases and GET /v1/models; provider health through the admin API and `ibex providers`.
//
// The first target's fault is chosen by the model name the gateway asks of it (`fail-500`, `slow`…),
// so one mock serves every case; the key pool's mock refuses one key with 429s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream, type RecordedRequest, type RequestFaults } from '../../src/mock/server.js';
import { provision, type TestGateway } from '../helpers/gateway.js';
import { chat, closedPort, eventually, replyText, startYamlGateway } from '../helpers/providers.js';
import type { Trace } from '../../src/stores/ports.js';

const K_PRIMARY = 'sk-primary-0123456789abcdef';
const K_GOOD = 'sk-good-0123456789abcdef';
const K_POOL_A = 'sk-pool-aaaa-0123456789';
const K_POOL_B = 'sk-pool-bbbb-0123456789';
const COOLDOWN_MS = 3000;

/** Attempts the primary mock saw, per model asked of it. */
const primaryCalls = new Map<string, number>();

function primaryFaults(req: RecordedRequest): Partial<RequestFaults> | undefined {
  const model = String(req.body?.model ?? '');
  if (req.method !== 'POST') return undefined;
  primaryCalls.set(model, (primaryCalls.get(model) ?? 0) + 1);
  const m = /^fail-(\d{3})$/.exec(model);
  if (m) return { fail: Number(m[1]) };
  if (model === 'slow') return { latencyMs: 6_000, ttfbMs: 6_000 };
  return undefined;
}

/** Which key the pool mock refuses with 429 ('a', 'both' or none). */
let poolRefuses: 'a' | 'both' | 'none' = 'a';
const poolKeysSeen: string[] = [];

function poolFaults(req: RecordedRequest): Partial<RequestFaults> | undefined {
  if (req.method !== 'POST') return undefined;
  const auth = String(req.headers.authorization ?? '');
  const key = auth === `Bearer ${K_POOL_A}` ? 'a' : auth === `Bearer ${K_POOL_B}` ? 'b' : '?';
  poolKeysSeen.push(key);
  if (poolRefuses === 'both' || poolRefuses === key) return { fail: 429 };
  return undefined;
}

describe('ibex.yaml providers: fallback, keys, aliases, health', () => {
  let primary: MockUpstream;
  let good: MockUpstream;
  let pool: MockUpstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    primary = await startMockUpstream({ faults: primaryFaults });
    // A streamed request whose last message says so waits 600 ms for its first byte.
    good = await startMockUpstream({ apiKeys: [K_GOOD], faults: (r) => (JSON.stringify(r.body?.messages ?? []).includes('slow-first-byte') ? { ttfbMs: 600 } : undefined) });
    pool = await startMockUpstream({ faults: poolFaults });
    const dead = await closedPort();
    const yaml = `
providers:
  primary: { kind: openai, baseUrl: "${primary.url}", keys: ["\${K_PRIMARY}"], timeouts: { ttfb: 500ms } }
  good:    { kind: openai, baseUrl: "${good.url}", keys: ["\${K_GOOD}"] }
  dead:    { kind: openai, baseUrl: "http://127.0.0.1:${dead}/v1", keys: ["\${K_PRIMARY}"] }
  pool:    { kind: openai, baseUrl: "${pool.url}", keys: ["\${K_POOL_A}", "\${K_POOL_B}"], keyStrategy: round_robin, cooldown: ${COOLDOWN_MS}ms }
models:
  m500: [primary/fail-500, good/gpt-4o-mini]
  m503: [primary/fail-503, good/gpt-4o-mini]
  m429: [primary/fail-429, good/gpt-4o-mini]
  m400: [primary/fail-400, good/gpt-4o-mini]
  mslow: [primary/slow, good/gpt-4o-mini]
  mdead: [dead/gpt-4o-mini, good/gpt-4o-mini]
  mall: [primary/fail-500, primary/fail-502]
  fast: good/gpt-4o
  pooled: [pool/gpt-4o-mini, good/gpt-4o-mini]
retries: { perTarget: 1 }
# Every case here asks for its fault again and again: no breaker reorders the chains
# (test/e2e/providers-circuit.test.ts covers it).
circuit: { failures: 0 }
`;
    gw = await startYamlGateway(yaml, { K_PRIMARY, K_GOOD, K_POOL_A, K_POOL_B });
    ({ token } = await provision(gw, 'prov', { directive: 'You are the providers directive.' }));
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([primary?.close(), good?.close(), pool?.close()]);
  });

  async function traceOf(requestId: string): Promise<Trace & Record<string, unknown>> {
    let found: (Trace & Record<string, unknown>) | undefined;
    const ok = await eventually(async () => {
      const r = await gw.cli(['traces', 'list', '--request-id', requestId, '--json']);
      const list = JSON.parse(r.stdout) as (Trace & Record<string, unknown>)[];
      found = list[0];
      return found !== undefined;
    }, 8_000, 250);
    expect(ok, `no trace for ${requestId}`).toBe(true);
    return found!;
  }

  it('a healthy first target serves; the headers name it', async () => {
    const r = await chat(gw, token, 'fast');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    expect(r.headers.get('x-ibex-served-model')).toBe('gpt-4o');
    // The alias was resolved before the call: the provider was asked for the real model.
    expect(good.stats.lastRequest?.body?.model).toBe('gpt-4o');
    expect(good.stats.lastRequest?.headers.authorization).toBe(`Bearer ${K_GOOD}`);
    expect(replyText(r.json)).toContain('You are the providers directive.');
  });

  it('falls back on a 500 of the first target (not retried on it), and the trace records the attempt', async () => {
    const before = good.stats.requests;
    const r = await chat(gw, token, 'm500');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    expect(r.headers.get('x-ibex-served-model')).toBe('gpt-4o-mini');
    expect(primaryCalls.get('fail-500')).toBe(1);
    expect(good.stats.requests).toBe(before + 1);
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t.provider).toBe('good');
    expect(t.model).toBe('m500');
    expect(t.servedModel).toBe('gpt-4o-mini');
    expect(t.attempts).toEqual([{ provider: 'primary', model: 'fail-500', error: 'upstream_error' }]);
    expect(t.status).toBe(200);
  });

  it('falls back on a 503 after the target used its retry budget (perTarget: 1 → 2 attempts)', async () => {
    const r = await chat(gw, token, 'm503');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    expect(primaryCalls.get('fail-503')).toBe(2);
  });

  it('falls back on a 429 of the first target', async () => {
    const r = await chat(gw, token, 'm429');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    // One key: a plain rate limit is retried on the target (after its retry-after), then the chain moves on.
    expect(primaryCalls.get('fail-429')).toBe(2);
  });

  it('falls back when the first target does not answer within its TTFB timeout', async () => {
    const t0 = Date.now();
    const r = await chat(gw, token, 'mslow');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    expect(Date.now() - t0).toBeLessThan(4_500);
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t.attempts).toEqual([{ provider: 'primary', model: 'slow', error: 'upstream_timeout' }]);
  });

  it('falls back when the first target refuses the connection', async () => {
    const r = await chat(gw, token, 'mdead');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t.attempts).toEqual([{ provider: 'dead', model: 'gpt-4o-mini', error: 'upstream_error' }]);
  });

  it('falls back for a streamed request too (before any byte went out)', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm500', stream: true, messages: [{ role: 'user', content: 'stream me' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ibex-provider')).toBe('good');
    expect(res.headers.get('x-ibex-served-model')).toBe('gpt-4o-mini');
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
  });

  it("a fallback stream's Server-Timing counts the serving attempt as provider time, not overhead", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm500', stream: true, messages: [{ role: 'user', content: 'slow-first-byte' }] }),
    });
    expect(res.headers.get('x-ibex-provider')).toBe('good');
    const timing = res.headers.get('server-timing') ?? '';
    await res.text();
    const overhead = Number(/overhead;dur=([\d.]+)/.exec(timing)?.[1]);
    const upstream = Number(/upstream;dur=([\d.]+)/.exec(timing)?.[1]);
    expect(upstream).toBeGreaterThanOrEqual(550);
    expect(overhead).toBeLessThan(300);
  });

  it('does not fall back on a 400: the provider error reaches the caller, the next target is never called', async () => {
    const before = good.stats.requests;
    const r = await chat(gw, token, 'm400');
    expect(r.status).toBe(400);
    expect(r.headers.get('x-ibex-provider')).toBe('primary');
    expect(primaryCalls.get('fail-400')).toBe(1);
    expect(good.stats.requests).toBe(before);
  });

  it('when every target fails, the last failure is the answer and every attempt is recorded', async () => {
    const r = await chat(gw, token, 'mall');
    expect(r.status).toBe(502);
    expect((r.json.error as { code: string }).code).toBe('upstream_error');
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t.attempts).toEqual([
      { provider: 'primary', model: 'fail-500', error: 'upstream_error' },
      { provider: 'primary', model: 'fail-502', error: 'upstream_error' },
    ]);
  });

  it('key pool: a key answered 429 cools down and the other key serves at once; after the cooldown it is tried again', async () => {
    poolRefuses = 'a';
    poolKeysSeen.length = 0;
    const first = await chat(gw, token, 'pooled');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ibex-provider')).toBe('pool');
    expect(poolKeysSeen).toEqual(['a', 'b']);
    // While key a cools, round robin skips it: only b is used.
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw, token, 'pooled');
      expect(r.headers.get('x-ibex-provider')).toBe('pool');
    }
    expect(poolKeysSeen).toEqual(['a', 'b', 'b', 'b', 'b']);

    // The admin API shows the pool: masked keys, key a cooling, never a secret.
    const res = await fetch(`${gw.url}/admin/v1/providers`, { headers: { authorization: `Bearer ${await adminToken(gw)}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of [K_POOL_A, K_POOL_B, K_GOOD, K_PRIMARY]) expect(text).not.toContain(secret);
    const status = JSON.parse(text) as { providers: { id: string; keys: { key: string; coolingUntil: number | null; cooldowns: number }[]; health: { requests: number; errors: number } }[] };
    const p = status.providers.find((x) => x.id === 'pool')!;
    expect(p.keys).toHaveLength(2);
    expect(p.keys[0]!.coolingUntil).not.toBeNull();
    expect(p.keys[0]!.cooldowns).toBe(1);
    expect(p.keys[1]!.coolingUntil).toBeNull();
    expect(p.health.requests).toBeGreaterThanOrEqual(4);

    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 200));
    poolKeysSeen.length = 0;
    poolRefuses = 'none';
    const later = [await chat(gw, token, 'pooled'), await chat(gw, token, 'pooled')];
    for (const r of later) expect(r.status).toBe(200);
    expect(poolKeysSeen.sort()).toEqual(['a', 'b']);
  });

  it('key pool: all keys cooling → the next target; while they cool the pool is not called at all', async () => {
    poolRefuses = 'both';
    poolKeysSeen.length = 0;
    const r = await chat(gw, token, 'pooled');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    expect(poolKeysSeen.sort()).toEqual(['a', 'b']);
    // At once (within the cooldown): the pool is skipped without a call.
    const again = await chat(gw, token, 'pooled');
    expect(again.headers.get('x-ibex-provider')).toBe('good');
    expect(poolKeysSeen).toHaveLength(2);
    poolRefuses = 'none';

    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t.attempts).toEqual([{ provider: 'pool', model: 'gpt-4o-mini', error: 'upstream_rate_limited' }]);
    const skipped = await traceOf(again.headers.get('x-request-id')!);
    expect(skipped.attempts).toEqual([{ provider: 'pool', model: 'gpt-4o-mini', error: 'upstream_rate_limited' }]);
  });

  it('GET /v1/models lists the first provider\'s models and the ibex.yaml names, once each', async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe('list');
    const ids = body.data.map((m) => m.id);
    for (const id of ['gpt-4o-mini', 'gpt-4o', 'm500', 'fast', 'pooled']) expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of body.data) expect(m.object).toBe('model');
  });

  it('GET /v1/models/{id} of an ibex.yaml name answers its entry (as the list does); other ids go to the provider', async () => {
    const get = (id: string, headers: Record<string, string> = {}) => fetch(`${gw.url}/v1/models/${id}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const alias = await get('m500');
    expect(alias.status).toBe(200);
    expect(await alias.json()).toMatchObject({ id: 'm500', object: 'model', owned_by: 'ibex' });
    const anthropic = await get('fast', { 'anthropic-version': '2023-06-01' });
    expect(await anthropic.json()).toMatchObject({ type: 'model', id: 'fast', display_name: 'fast' });
    // a provider's own model: relayed to the first provider, which answers for itself
    const own = await get('gpt-4o');
    expect(own.status).toBe(200);
    expect(((await own.json()) as { id: string }).id).toBe('gpt-4o');
    expect((await get('no-such-model')).status).toBe(404);
  });

  it('`ibex providers --json` shows the running gateway\'s providers through the admin API', async () => {
    const r = await gw.cli(['providers', '--json', '--url', gw.url]);
    const status = JSON.parse(r.stdout) as { providers: { id: string; kind: string; health: { requests: number; errors: number; lastError: { message: string } | null } }[] };
    expect(status.providers.map((p) => p.id)).toEqual(['primary', 'good', 'dead', 'pool']);
    const primaryStatus = status.providers.find((p) => p.id === 'primary')!;
    expect(primaryStatus.health.errors).toBeGreaterThan(0);
    expect(primaryStatus.health.lastError?.message).toMatch(/HTTP \d{3}/);
    for (const secret of [K_POOL_A, K_POOL_B, K_GOOD, K_PRIMARY]) expect(r.stdout).not.toContain(secret);

    const refused = await fetch(`${gw.url}/admin/v1/providers`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
    const wrongToken = await gw.cli(['providers', '--url', gw.url, '--token', 'nope'], { reject: false });
    expect(wrongToken.exitCode).toBe(1);
    expect(wrongToken.stderr).toMatch(/refused the admin token/);

    const table = await gw.cli(['providers', '--url', gw.url]);
    expect(table.stdout).toMatch(/pool\s+openai/);
    expect(table.stdout).toContain('sk-');
    for (const secret of [K_POOL_A, K_POOL_B]) expect(table.stdout).not.toContain(secret);
  });
});

async function adminToken(gw: TestGateway): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return readFileSync(`${gw.home}/admin-token`, 'utf8').trim();
}
