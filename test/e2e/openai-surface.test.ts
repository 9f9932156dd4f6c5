// Issue 12's faithful passthrough, through a built gateway: gzip request bodies, CORS, provider headers,
// an upstream 429 `insufficient_quota` kept as it is (not retried), a 413 the client actually reads,
// and the non-conversation routes traced without a checkpoint.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const chat = (content: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

describe('the OpenAI surface, passed through faithfully', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { IBEX_CORS_ORIGINS: 'https://app.example' } });
    ({ token } = await provision(gw, 'surface', { directive: 'D.' }));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('accepts a gzip-encoded request body', async () => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(chat('zipped hello')),
    });
    const j = (await r.body.json()) as { choices: { message: { content: string } }[] };
    expect(r.statusCode).toBe(200);
    expect(j.choices[0]!.message.content).toContain('zipped hello');
  });

  it('refuses an unknown content-encoding with 415', async () => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'rot13' },
      body: chat('x'),
    });
    expect(r.statusCode).toBe(415);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('answers a CORS preflight for an allowed origin only, and exposes ibex headers', async () => {
    const pre = await request(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    await pre.body.dump();
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('authorization');

    const other = await request(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    await other.body.dump();
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: 'https://app.example', authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chat('cors'),
    });
    await r.body.dump();
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(r.headers['access-control-expose-headers'])).toContain('x-ibex-session');
  });

  it('passes the provider request id and names the provider and model that served', async () => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chat('headers'),
    });
    await r.body.dump();
    expect(r.statusCode).toBe(200);
    expect(String(r.headers['x-upstream-request-id'])).toMatch(/^req_/);
    expect(r.headers['x-ibex-provider']).toBe('openai');
    expect(r.headers['x-ibex-served-model']).toBe('gpt-4o-mini');
  });

  it('a body over the limit gets a 413 the client reads (no EPIPE), ten times in a row', async () => {
    const body = Buffer.alloc(40 * 1024 * 1024, 'a');
    const seen: (number | string)[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const r = await request(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        await r.body.dump();
        seen.push(r.statusCode);
      } catch (err) {
        seen.push(String((err as { code?: string }).code ?? err));
      }
    }
    expect(seen).toEqual(Array(10).fill(413));
  });

  it('embeddings and legacy completions are traced with usage and leave no checkpoint', async () => {
    const e = await request(`${gw.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'emb-surface-1' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'vector me' }),
    });
    expect(e.statusCode).toBe(200);
    expect(e.headers['x-ibex-session']).toBeUndefined();
    await e.body.dump();
    await new Promise((r) => setTimeout(r, 300));
    const traces = JSON.parse((await gw.cli(['traces', 'list', '--request-id', 'emb-surface-1', '--json'])).stdout) as {
      status: number;
      promptTokens: number | null;
      sessionId: string | null;
    }[];
    expect(traces).toHaveLength(1);
    expect(traces[0]!.status).toBe(200);
    expect(traces[0]!.promptTokens).toBeGreaterThan(0);
    expect(traces[0]!.sessionId).toBeNull();
  });
});

describe('upstream error codes are kept', () => {
  let gw: TestGateway;
  let token: string;
  let upstream: http.Server;
  let hits = 0;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json' }).end(
        JSON.stringify({ error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', code: 'insufficient_quota', param: null } }),
      );
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` } });
    ({ token } = await provision(gw, 'quota'));
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('a 429 insufficient_quota reaches the caller as insufficient_quota, after one attempt', async () => {
    hits = 0;
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chat('x'),
    });
    const j = (await r.body.json()) as { error: { code: string } };
    expect(r.statusCode).toBe(429);
    expect(j.error.code).toBe('insufficient_quota');
    expect(hits).toBe(1);
  });
});

describe('a caller that leaves a relayed request before the provider answers', () => {
  let gw: TestGateway;
  let token: string;
  let upstream: http.Server;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    // Never answers: the caller leaves first.
    upstream = http.createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` } });
    ({ token } = await provision(gw, 'leaver'));
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await gw?.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('is traced as 499 without an error code (not as the upstream error its leaving caused)', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const r = request(`${gw.url}/v1/audio/speech`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'relay-leaver-1' },
      body: JSON.stringify({ model: 'tts-1', input: 'hello', voice: 'alloy' }),
    });
    await expect(r).rejects.toThrow();
    let traces: { status: number; errorCode: string | null }[] = [];
    for (let i = 0; i < 40 && traces.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      traces = JSON.parse((await gw.cli(['traces', 'list', '--request-id', 'relay-leaver-1', '--json'])).stdout) as typeof traces;
    }
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ status: 499, errorCode: null });
  });
});
