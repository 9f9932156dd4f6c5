// Real HTTP against the mock upstream on an ephemeral port: what `ibex` tests, bench and smoke rely on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startMockUpstream, type MockOptions, type MockUpstream } from '../../src/mock/server.js';

const messages = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hello "world" 😀' },
];
const expectedContent = 'echo:' + JSON.stringify(messages);

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

/** Splits an SSE body into its `data:` payloads, checking the framing on the way. */
function sseData(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice('data: '.length);
    });
}

function post(base: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return request(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

const opened: MockUpstream[] = [];
async function mockWith(opts: MockOptions = {}): Promise<MockUpstream> {
  const m = await startMockUpstream(opts);
  opened.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

describe('mock upstream: replies', () => {
  let shared: MockUpstream;
  beforeAll(async () => {
    shared = await startMockUpstream({ chunks: 5 });
  });
  afterAll(async () => {
    await shared.close();
  });

  it('listens on an ephemeral port and reports a base URL ending in /v1', () => {
    expect(shared.port).toBeGreaterThan(0);
    expect(shared.url).toBe(`http://127.0.0.1:${shared.port}/v1`);
  });

  it('non-streaming: echoes the received messages as a chat.completion', async () => {
    const res = await post(shared.url, { model: 'gpt-4o', messages }, { authorization: 'Bearer sk-upstream' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = (await res.body.json()) as any;
    expect(body.object).toBe('chat.completion');
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.model).toBe('gpt-4o');
    expect(typeof body.created).toBe('number');
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message).toMatchObject({ role: 'assistant', content: expectedContent });
    expect(body.choices[0].finish_reason).toBe('stop');
    const { prompt_tokens, completion_tokens, total_tokens } = body.usage;
    expect(prompt_tokens).toBe(Math.ceil(JSON.stringify(messages).length / 4));
    expect(completion_tokens).toBe(Math.ceil(expectedContent.length / 4));
    expect(total_tokens).toBe(prompt_tokens + completion_tokens);

    const seen = shared.stats.lastRequest!;
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-upstream');
    expect(seen.body).toEqual({ model: 'gpt-4o', messages });
  });

  it('streaming: role first, deltas concatenate to the content in order, finish chunk, [DONE], no usage chunk', async () => {
    const res = await post(shared.url, { model: 'gpt-4o-mini', stream: true, messages });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = sseData(await res.body.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
    // role + 5 content deltas + finish
    expect(chunks).toHaveLength(7);
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe('gpt-4o-mini');
      expect(c.id).toBe(chunks[0]!.id);
      expect(c).not.toHaveProperty('usage');
    }
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const contentDeltas = chunks.slice(1, -1).map((c) => c.choices[0]!.delta.content);
    expect(contentDeltas).toHaveLength(5);
    expect(contentDeltas.every((d) => typeof d === 'string' && d.length > 0)).toBe(true);
    expect(contentDeltas.join('')).toBe(expectedContent);
    const finish = chunks.at(-1)!;
    expect(finish.choices[0]!.finish_reason).toBe('stop');
    expect(finish.choices[0]!.delta).toEqual({});
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
  });

  it('streaming with stream_options.include_usage: a final usage chunk with choices []', async () => {
    const res = await post(shared.url, { model: 'm', stream: true, stream_options: { include_usage: true }, messages });
    const data = sseData(await res.body.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage!.completion_tokens).toBe(Math.ceil(expectedContent.length / 4));
    expect(usageChunk.usage!.total_tokens).toBe(usageChunk.usage!.prompt_tokens + usageChunk.usage!.completion_tokens);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    // Like OpenAI: the chunks before it carry usage: null.
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.slice(1, -2).map((c) => c.choices[0]!.delta.content).join('')).toBe(expectedContent);
  });

  it('x-mock-chunks: many deltas still concatenate exactly, and no delta splits a surrogate pair', async () => {
    const res = await post(shared.url, { model: 'm', stream: true, messages }, { 'x-mock-chunks': '37' });
    const chunks = sseData(await res.body.text()).slice(0, -1).map((d) => JSON.parse(d) as Chunk);
    const deltas = chunks.slice(1, -1).map((c) => c.choices[0]!.delta.content!);
    expect(deltas).toHaveLength(37);
    expect(deltas.join('')).toBe(expectedContent);
    const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    expect(deltas.some((d) => loneSurrogate.test(d))).toBe(false);
  });

  it('GET /v1/models lists the mock models', async () => {
    const res = await request(`${shared.url}/models`);
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as any;
    expect(body.object).toBe('list');
    expect(body.data.map((m: any) => m.id)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    for (const m of body.data) expect(m).toMatchObject({ object: 'model', owned_by: 'ibex-mock', created: expect.any(Number) });
  });

  it('invalid JSON → 400 OpenAI-shaped error', async () => {
    const res = await post(shared.url, '{"messages": [');
    expect(res.statusCode).toBe(400);
    const body = (await res.body.json()) as any;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: null, param: null });
    expect(typeof body.error.message).toBe('string');
    expect(shared.stats.lastRequest!.rawBody).toBe('{"messages": [');
  });

  it('missing messages array → 400 with param messages', async () => {
    const res = await post(shared.url, { model: 'm', messages: 'nope' });
    expect(res.statusCode).toBe(400);
    const body = (await res.body.json()) as any;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: null, param: 'messages' });
  });

  it('unknown routes → 404 OpenAI-shaped error', async () => {
    const res = await request(`${shared.url}/images/generations`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(404);
    const body = (await res.body.json()) as any;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', message: 'Invalid URL (POST /v1/images/generations)' });
  });

  it('a bad x-mock-* header value → 400 naming the header', async () => {
    const res = await post(shared.url, { messages }, { 'x-mock-latency': 'soon' });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as any).error.param).toBe('x-mock-latency');
  });

  it('keeps connections alive', async () => {
    const res = await post(shared.url, { messages });
    await res.body.dump();
    expect(res.headers.connection).toBe('keep-alive');
  });
});

describe('mock upstream: pacing', () => {
  it('latencyMs delays a non-streaming reply', async () => {
    const mock = await mockWith({ latencyMs: 120 });
    const t0 = performance.now();
    const res = await post(mock.url, { messages });
    await res.body.json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(118);
  });

  it('ttfbMs delays the response headers; chunkIntervalMs spaces the deltas', async () => {
    const mock = await mockWith({ ttfbMs: 120, chunks: 4, chunkIntervalMs: 40 });
    const t0 = performance.now();
    const res = await post(mock.url, { stream: true, messages });
    const ttfb = performance.now() - t0;
    expect(ttfb).toBeGreaterThanOrEqual(118);
    const data = sseData(await res.body.text());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(118 + 3 * 40 - 3);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data).toHaveLength(1 + 4 + 1 + 1);
  });

  it('x-mock-latency / x-mock-ttfb override the options per request', async () => {
    const mock = await mockWith();
    let t0 = performance.now();
    await (await post(mock.url, { messages }, { 'x-mock-latency': '100' })).body.json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(98);
    t0 = performance.now();
    const res = await post(mock.url, { stream: true, messages }, { 'x-mock-ttfb': '100' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(98);
    await res.body.dump();
  });

  it('x-mock-stall pauses a stream after its first chunk, then completes it', async () => {
    const mock = await mockWith();
    const t0 = performance.now();
    const res = await post(mock.url, { stream: true, messages }, { 'x-mock-stall': '150' });
    const data = sseData(await res.body.text());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(148);
    expect(data.at(-1)).toBe('[DONE]');
    const content = data.slice(1, -2).map((d) => (JSON.parse(d) as Chunk).choices[0]!.delta.content).join('');
    expect(content).toBe(expectedContent);
  });
});

describe('mock upstream: failure injection', () => {
  it('failRate 1 fails every request with 500 server_error', async () => {
    const mock = await mockWith({ failRate: 1 });
    for (let i = 0; i < 5; i++) {
      const res = await post(mock.url, { messages, stream: i % 2 === 0 });
      expect(res.statusCode).toBe(500);
      const body = (await res.body.json()) as any;
      expect(body.error).toMatchObject({ type: 'server_error', param: null });
      expect(typeof body.error.message).toBe('string');
    }
    expect(mock.stats.failed).toBe(5);
  });

  it('failStatus 429 replies rate_limit_exceeded with retry-after: 1', async () => {
    const mock = await mockWith({ failRate: 1, failStatus: 429 });
    const res = await post(mock.url, { messages });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(((await res.body.json()) as any).error.code).toBe('rate_limit_exceeded');
  });

  it('failRate 0.5 with a seed gives a repeatable mix of failures', async () => {
    async function outcomes(): Promise<number[]> {
      const mock = await mockWith({ failRate: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await post(mock.url, { messages });
        await res.body.dump();
        statuses.push(res.statusCode);
      }
      return statuses;
    }
    const first = await outcomes();
    const failures = first.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(30);
    expect(first.every((s) => s === 200 || s === 500)).toBe(true);
    expect(await outcomes()).toEqual(first);
  });

  it('x-mock-fail replies the given status', async () => {
    const mock = await mockWith();
    const res = await post(mock.url, { messages }, { 'x-mock-fail': '503' });
    expect(res.statusCode).toBe(503);
    expect(((await res.body.json()) as any).error.type).toBe('server_error');
    const models = await request(`${mock.url}/models`, { headers: { 'x-mock-fail': '401' } });
    expect(models.statusCode).toBe(401);
    expect(((await models.body.json()) as any).error.code).toBe('invalid_api_key');
  });

  it('the faults option overrides per request from code', async () => {
    const mock = await mockWith({ faults: (r) => ((r.body?.model as string) === 'broken' ? { fail: 502 } : undefined) });
    const bad = await post(mock.url, { model: 'broken', messages });
    await bad.body.dump();
    expect(bad.statusCode).toBe(502);
    const good = await post(mock.url, { model: 'fine', messages });
    await good.body.dump();
    expect(good.statusCode).toBe(200);
  });

  it('x-mock-reset: before-headers destroys the socket: fetch throws', async () => {
    const mock = await mockWith();
    await expect(
      fetch(`${mock.url}/chat/completions`, { method: 'POST', headers: { 'x-mock-reset': 'before-headers' }, body: JSON.stringify({ messages }) }),
    ).rejects.toThrow();
    await mock.stats.waitFor((s) => s.resets === 1 && s.inflight === 0);
    expect(mock.stats.aborted).toBe(0);
  });

  it('x-mock-reset: mid-stream delivers the first chunk then breaks the stream', async () => {
    const mock = await mockWith();
    const res = await post(mock.url, { stream: true, messages }, { 'x-mock-reset': 'mid-stream' });
    expect(res.statusCode).toBe(200);
    let received = '';
    await expect(
      (async () => {
        for await (const chunk of res.body) received += chunk.toString();
      })(),
    ).rejects.toThrow();
    expect(received).toContain('"role":"assistant"');
    expect(received).not.toContain('[DONE]');
  });

  it('x-mock-reset: mid-stream on a JSON reply truncates the body', async () => {
    const mock = await mockWith();
    const res = await post(mock.url, { messages }, { 'x-mock-reset': 'mid-stream' });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('x-mock-gzip: 1 gzips the JSON reply; fetch decodes it', async () => {
    const mock = await mockWith();
    const raw = await post(mock.url, { messages }, { 'x-mock-gzip': '1' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    const bytes = Buffer.from(await raw.body.arrayBuffer());
    expect(bytes[0]).toBe(0x1f); // gzip magic
    expect(bytes[1]).toBe(0x8b);
    const res = await fetch(`${mock.url}/chat/completions`, { method: 'POST', headers: { 'x-mock-gzip': '1' }, body: JSON.stringify({ messages }) });
    const body = (await res.json()) as any;
    expect(body.choices[0].message.content).toBe(expectedContent);
  });
});

describe('mock upstream: stats', () => {
  it('counts a client abort mid-stream and ends the upstream request', async () => {
    const mock = await mockWith({ chunks: 50, chunkIntervalMs: 20 });
    const ac = new AbortController();
    const res = await post(mock.url, { stream: true, messages }, {}, ac.signal);
    expect(mock.stats.inflight).toBe(1);
    for await (const chunk of res.body) {
      expect(chunk.toString()).toContain('"role":"assistant"');
      ac.abort();
      break;
    }
    await mock.stats.waitFor((s) => s.aborted === 1 && s.inflight === 0);
    expect(mock.stats.completed).toBe(0);
  });

  it('counts requests and completions; recent is a bounded ring, oldest first', async () => {
    const mock = await mockWith({ recentLimit: 3 });
    for (let i = 0; i < 5; i++) await (await post(mock.url, { model: `m${i}`, messages })).body.dump();
    await mock.stats.waitFor((s) => s.completed === 5 && s.inflight === 0);
    expect(mock.stats.requests).toBe(5);
    expect(mock.stats.recent.map((r) => r.body?.model)).toEqual(['m2', 'm3', 'm4']);
    expect(mock.stats.recent.map((r) => r.seq)).toEqual([3, 4, 5]);
    mock.stats.reset();
    expect(mock.stats.requests).toBe(0);
    expect(mock.stats.recent).toEqual([]);
  });

  it('onRequest sees every request with its headers', async () => {
    const seen: string[] = [];
    const mock = await mockWith({ onRequest: (r) => seen.push(`${r.method} ${r.path} ${r.headers['x-test'] ?? ''}`) });
    await (await post(mock.url, { messages }, { 'x-test': 'a' })).body.dump();
    await (await request(`${mock.url}/models?x=1`, { headers: { 'x-test': 'b' } })).body.dump();
    expect(seen).toEqual(['POST /v1/chat/completions a', 'GET /v1/models b']);
  });

  it('close() does not wait for a stalled stream', async () => {
    const mock = await startMockUpstream();
    const res = await post(mock.url, { stream: true, messages }, { 'x-mock-stall': '60000' });
    const reading = res.body.text().catch(() => 'broken');
    const t0 = performance.now();
    await mock.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await reading).toBe('broken');
  });
});
