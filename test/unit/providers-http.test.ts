// Provider kinds, key pools and HttpProvider's key handling against a tiny local upstream (issue 13):
// where each kind sends a call, Anthropic's rate limits and base URLs, pinned keys of stateful
// continuations, and the pool's rotation and cooldowns.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProvider } from '../../src/providers/http-provider.js';
import { KeyPool } from '../../src/providers/key-pool.js';
import { KINDS } from '../../src/providers/kinds.js';
import { AbortEmitter } from '../../src/util/abort-emitter.js';
import type { ProviderKind } from '../../src/config/types.js';

describe('kinds: where a call goes', () => {
  it('anthropic: messages and count_tokens, and model lookups keep their path', () => {
    expect(KINDS.anthropic.path('/chat/completions', 'm')).toBe('/v1/messages');
    expect(KINDS.anthropic.path('/messages/count_tokens', 'm')).toBe('/v1/messages/count_tokens');
    expect(KINDS.anthropic.path('/models', '')).toBe('/v1/models');
    expect(KINDS.anthropic.path('/models/claude-sonnet-4-5', '')).toBe('/v1/models/claude-sonnet-4-5');
  });

  it('azure-openai: calls per deployment, the model list per resource', () => {
    expect(KINDS['azure-openai'].path('/chat/completions', 'my deploy', '2024-10-21')).toBe('/openai/deployments/my%20deploy/chat/completions?api-version=2024-10-21');
    expect(KINDS['azure-openai'].path('/models', '', '2024-10-21')).toBe('/openai/models?api-version=2024-10-21');
  });
});

describe('KeyPool', () => {
  const keys = ['k0', 'k1', 'k2'].map((k) => ({ value: k, masked: k, env: k.toUpperCase() }));

  it('round robin spreads over the keys and skips a cooling one until its cooldown ends', () => {
    let now = 1_000;
    const pool = new KeyPool(keys, 'round_robin', 500, () => now);
    expect([pool.pick(), pool.pick(), pool.pick(), pool.pick()]).toEqual([0, 1, 2, 0]);
    pool.cool(1);
    expect([pool.pick(), pool.pick(), pool.pick()]).toEqual([2, 0, 2]);
    now += 501;
    expect([pool.pick(), pool.pick()]).toEqual([0, 1]);
  });

  it('priority takes the first key that is not cooling; a longer retry-after wins over the cooldown', () => {
    let now = 0;
    const pool = new KeyPool(keys, 'priority', 100, () => now);
    expect([pool.pick(), pool.pick()]).toEqual([0, 0]);
    pool.cool(0, 1_000);
    expect(pool.pick()).toBe(1);
    now = 500;
    expect(pool.pick()).toBe(1);
    now = 1_001;
    expect(pool.pick()).toBe(0);
  });

  it('exhausted only when every key cools; states show masked keys, the variable, uses and cooldowns', () => {
    const pool = new KeyPool(keys, 'round_robin', 1_000, () => 0);
    pool.cool(0);
    pool.cool(1);
    expect(pool.exhausted()).toBe(false);
    expect(pool.pick(new Set([2]))).toBeNull();
    pool.cool(2);
    expect(pool.exhausted()).toBe(true);
    expect(pool.pick()).toBeNull();
    expect(pool.states()[0]).toEqual({ key: 'k0', env: 'K0', coolingUntil: 1_000, uses: 0, cooldowns: 1 });
  });
});

describe('HttpProvider keys and kinds', () => {
  let server: http.Server;
  let port = 0;
  const seen: { path: string; key: string; rawHeaders: string[] }[] = [];
  /** The answer for a key: a status and an error body */
  let answer: (key: string) => { status: number; body?: unknown; headers?: Record<string, string> } = () => ({ status: 200 });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const key = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '').replace(/^Bearer /, '');
      seen.push({ path: req.url ?? '', key, rawHeaders: req.rawHeaders });
      req.resume();
      const a = answer(key);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(JSON.stringify(a.body ?? { ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  function provider(kind: ProviderKind, opts: { keys?: string[]; baseUrl?: string; maxRetries?: number; headers?: Record<string, string> } = {}): HttpProvider {
    return new HttpProvider(
      {
        id: 'p',
        kind: KINDS[kind],
        baseUrl: opts.baseUrl ?? `http://127.0.0.1:${port}${kind === 'anthropic' ? '' : '/v1'}`,
        keys: (opts.keys ?? ['key-a']).map((k) => ({ value: k, masked: k })),
        keyStrategy: 'round_robin',
        cooldownMs: 60_000,
        headers: opts.headers ?? {},
      },
      { connections: 2, connectTimeoutMs: 1_000, ttfbTimeoutMs: 5_000, idleTimeoutMs: 5_000, retry: { maxRetries: opts.maxRetries ?? 2, minDelayMs: 10, maxRetryAfterMs: 2_000 } },
    );
  }

  const send = (p: HttpProvider, keyIndex?: number) =>
    p.send({ method: 'POST', path: '/chat/completions', body: '{}' }, { requestId: 'r', signal: new AbortEmitter(), ...(keyIndex !== undefined ? { keyIndex } : {}) });

  it("an Anthropic rate limit (429 rate_limit_error) on a single key is retried on the target, like OpenAI's", async () => {
    seen.length = 0;
    let n = 0;
    answer = () =>
      ++n === 1
        ? { status: 429, body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, headers: { 'retry-after': '0' } }
        : { status: 200 };
    const p = provider('anthropic');
    const res = await send(p);
    expect(res.status).toBe(200);
    await res.body.dump();
    expect(seen.map((s) => s.path)).toEqual(['/v1/messages', '/v1/messages']);
    await p.close();
  });

  it("feature flags the provider's headers: and the caller both set are both sent, once each, in one header line", async () => {
    seen.length = 0;
    answer = () => ({ status: 200 });
    const p = provider('anthropic', { headers: { 'Anthropic-Beta': 'context-1m-2025-08-07', 'OpenAI-Beta': 'assistants=v2', 'X-Team': 'search' } });
    const res = await p.send(
      {
        method: 'POST',
        path: '/messages',
        body: '{}',
        headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07', 'openai-beta': 'responses=experimental', 'x-team': 'caller' },
      },
      { requestId: 'r', signal: new AbortEmitter() },
    );
    await res.body.dump();
    const lines = (name: string) => {
      const raw = seen[0]!.rawHeaders;
      return raw.flatMap((h, i) => (i % 2 === 0 && h.toLowerCase() === name ? [raw[i + 1]] : []));
    };
    expect(lines('anthropic-beta')).toEqual(['context-1m-2025-08-07,interleaved-thinking-2025-05-14']);
    expect(lines('openai-beta')).toEqual(['assistants=v2,responses=experimental']);
    // any other header of the provider's replaces the caller's, whatever its case in ibex.yaml
    expect(lines('x-team')).toEqual(['search']);
    await p.close();
  });

  it('an Anthropic base URL written with /v1 does not double it', async () => {
    seen.length = 0;
    answer = () => ({ status: 200 });
    const p = provider('anthropic', { baseUrl: `http://127.0.0.1:${port}/v1/` });
    const res = await send(p);
    await res.body.dump();
    expect(seen.map((s) => s.path)).toEqual(['/v1/messages']);
    await p.close();
  });

  it('a pool rotates away from a key answered 429 at once, and reports the key that served', async () => {
    seen.length = 0;
    answer = (key) => (key === 'key-a' ? { status: 429, body: { error: { code: 'rate_limit_exceeded', message: 'x' } } } : { status: 200 });
    const p = provider('openai', { keys: ['key-a', 'key-b'] });
    const res = await send(p);
    expect(res.status).toBe(200);
    expect(res.keyIndex).toBe(1);
    await res.body.dump();
    expect(seen.map((s) => s.key)).toEqual(['key-a', 'key-b']);
    expect(p.status().keys.map((k) => k.coolingUntil !== null)).toEqual([true, false]);
    await p.close();
  });

  it('a pinned key is used even while cooling and is never swapped for another on a 429', async () => {
    seen.length = 0;
    answer = (key) => (key === 'key-a' ? { status: 429, body: { error: { code: 'rate_limit_exceeded', message: 'x' } }, headers: { 'retry-after': '0' } } : { status: 200 });
    const p = provider('openai', { keys: ['key-a', 'key-b'], maxRetries: 1 });
    const first = await send(p); // cools key-a, served by key-b
    await first.body.dump();
    seen.length = 0;
    const pinned = await send(p, 0);
    expect(pinned.status).toBe(429);
    expect(pinned.keyIndex).toBe(0);
    await pinned.body.dump();
    // One retry of the rate limit, both with the pinned key.
    expect(seen.map((s) => s.key)).toEqual(['key-a', 'key-a']);
    seen.length = 0;
    const other = await send(p, 1);
    expect([other.status, other.keyIndex]).toEqual([200, 1]);
    await other.body.dump();
    expect(seen.map((s) => s.key)).toEqual(['key-b']);
    await p.close();
  });
});
