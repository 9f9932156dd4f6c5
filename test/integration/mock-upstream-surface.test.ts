// Raw-wire details of the mock's wider surface that the official clients hide: SSE framing per
// API, request ids, key checks, failRate scope, several mocks with different faults, configure().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream({ chunks: 3 });
});
afterAll(async () => {
  await mock.close();
});

describe('OpenAI mode wire', () => {
  it('Responses stream: `event:` lines naming each data type, no [DONE] (like OpenAI)', async () => {
    const res = await post(mock.url, '/responses', { model: 'gpt-4o', input: 'hi', stream: true });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const text = await res.body.text();
    expect(text).not.toContain('[DONE]');
    for (const block of text.split('\n\n').filter(Boolean)) {
      const [event, data] = block.split('\n');
      expect(event).toBe('event: ' + JSON.parse(data!.slice('data: '.length)).type);
    }
  });

  it('chat tool-call stream: first chunk role + call header, indexed argument deltas, finish tool_calls, usage, [DONE]', async () => {
    const res = await post(mock.url, '/chat/completions', {
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'f' } }],
      messages: [{ role: 'user', content: 'call:f {"a":1}\ncall:g' }],
    });
    const data = (await res.body.text()).split('\n\n').filter(Boolean).map((e) => e.slice('data: '.length));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ index: 0, type: 'function', function: { name: 'f', arguments: '' } }] });
    const args = (i: number) =>
      chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).filter((t: any) => t.index === i).map((t: any) => t.function.arguments).join('');
    expect(args(0)).toBe('{"a":1}');
    expect(args(1)).toBe('{}');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
  });

  it('legacy completions stream ends with [DONE]', async () => {
    const res = await post(mock.url, '/completions', { model: 'm', prompt: 'p', stream: true });
    expect((await res.body.text()).endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('every reply carries x-request-id, unique per request', async () => {
    const a = await post(mock.url, '/embeddings', { model: 'm', input: 'x', encoding_format: 'float' });
    const b = await request(`${mock.url}/models`);
    await a.body.dump();
    await b.body.dump();
    expect(a.headers['x-request-id']).toMatch(/^req_/);
    expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
  });

  it('embeddings: bad input → 400 with param input', async () => {
    const bad = await post(mock.url, '/embeddings', { model: 'm', input: [] });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as any).error.param).toBe('input');
  });

  it('Responses with store: false are not kept; input_items of an unknown id → 404', async () => {
    const res = await post(mock.url, '/responses', { model: 'gpt-4o', input: 'x', store: false });
    const { id } = (await res.body.json()) as any;
    const get = await request(`${mock.url}/responses/${id}`);
    expect(get.statusCode).toBe(404);
    expect(((await get.body.json()) as any).error.type).toBe('invalid_request_error');
    const items = await request(`${mock.url}/responses/resp_unknown/input_items`);
    await items.body.dump();
    expect(items.statusCode).toBe(404);
  });

  it('the response store is bounded: the oldest response is forgotten', async () => {
    const small = await startMockUpstream({ responseStoreLimit: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(((await (await post(small.url, '/responses', { model: 'm', input: String(i) })).body.json()) as any).id);
      const statuses = [];
      for (const id of ids) {
        const r = await request(`${small.url}/responses/${id}`);
        await r.body.dump();
        statuses.push(r.statusCode);
      }
      expect(statuses).toEqual([404, 200, 200]);
    } finally {
      await small.close();
    }
  });
});

describe('faults across providers', () => {
  it('failRate applies to every model call, never to listing models or lookups', async () => {
    const failing = await startMockUpstream({ failRate: 1, failStatus: 503 });
    try {
      for (const [path, body] of [
        ['/chat/completions', { messages: [] }],
        ['/completions', { prompt: 'x' }],
        ['/embeddings', { input: 'x' }],
        ['/moderations', { input: 'x' }],
        ['/responses', { model: 'm', input: 'x' }],
      ] as const) {
        const res = await post(failing.url, path, body);
        await res.body.dump();
        expect(res.statusCode, path).toBe(503);
      }
      const models = await request(`${failing.url}/models`);
      await models.body.dump();
      expect(models.statusCode).toBe(200);
      const count = await post(failing.url, '/responses/input_tokens', { input: 'x' });
      await count.body.dump();
      expect(count.statusCode).toBe(200);
      expect(failing.stats.failed).toBe(5);
    } finally {
      await failing.close();
    }
  });

  it('three mocks, two protocols, different faults; configure() changes a running one', async () => {
    const [healthy, rateLimited, anthropic] = await Promise.all([
      startMockUpstream(),
      startMockUpstream({ failRate: 1, failStatus: 429 }),
      startMockUpstream({ protocol: 'anthropic', latencyMs: 50 }),
    ]);
    try {
      const chat = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
      const ok = await post(healthy.url, '/chat/completions', chat);
      await ok.body.dump();
      const limited = await post(rateLimited.url, '/chat/completions', chat);
      await limited.body.dump();
      const t0 = performance.now();
      const msg = await post(anthropic.url, '/v1/messages', { ...chat, max_tokens: 100 }, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' });
      await msg.body.dump();
      expect([ok.statusCode, limited.statusCode, msg.statusCode]).toEqual([200, 429, 200]);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(48);

      healthy.configure({ failRate: 1, failStatus: 502 });
      rateLimited.configure({ failRate: 0 });
      const now = await Promise.all([post(healthy.url, '/chat/completions', chat), post(rateLimited.url, '/chat/completions', chat)]);
      await Promise.all(now.map((r) => r.body.dump()));
      expect(now.map((r) => r.statusCode)).toEqual([502, 200]);
      expect(() => healthy.configure({ failStatus: 200 })).toThrow(RangeError);
    } finally {
      await Promise.all([healthy.close(), rateLimited.close(), anthropic.close()]);
    }
  });

  it('apiKeys in OpenAI mode: only those bearer keys are accepted (401 invalid_api_key otherwise)', async () => {
    const keyed = await startMockUpstream({ apiKeys: ['k1', 'k2'] });
    try {
      const chat = { messages: [] };
      const statuses = [];
      for (const auth of ['Bearer k1', 'Bearer k2', 'Bearer k3', '']) {
        const r = await post(keyed.url, '/chat/completions', chat, auth ? { authorization: auth } : {});
        const body = (await r.body.json()) as any;
        if (r.statusCode === 401) expect(body.error.code).toBe('invalid_api_key');
        statuses.push(r.statusCode);
      }
      expect(statuses).toEqual([200, 200, 401, 401]);
    } finally {
      await keyed.close();
    }
  });
});
