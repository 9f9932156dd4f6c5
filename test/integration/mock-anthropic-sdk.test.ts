// The mock in Anthropic mode driven by the official `@anthropic-ai/sdk` client, plus the raw
// wire details a client hides (header checks, error bodies, event names, faults).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';

let mock: MockUpstream;
let client: Anthropic;
beforeAll(async () => {
  mock = await startMockUpstream({ protocol: 'anthropic', chunks: 3 });
  client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});

const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];

function post(path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }) {
  return request(`${mock.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('messages (official client)', () => {
  it('create: echoes system and messages; end_turn; usage; headers reached the mock', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'hello "there" 😀' }];
    const msg = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 1024, system: 'be brief', messages });
    expect(mock.url).toBe(mock.origin);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.model).toBe('claude-sonnet-4-6');
    expect(msg.stop_reason).toBe('end_turn');
    const text = 'echo:' + JSON.stringify({ system: 'be brief', messages });
    expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text })]);
    expect(msg.usage).toMatchObject({ output_tokens: Math.ceil(text.length / 4), cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(msg.usage.input_tokens).toBe(Math.ceil(JSON.stringify({ system: 'be brief', messages }).length / 4));
    const seen = mock.stats.lastRequest!;
    expect(seen.path).toBe('/v1/messages');
    // @anthropic-ai/sdk 1.x sends apiKey as a bearer token; the mock accepts it or x-api-key.
    expect(seen.headers['x-api-key'] ?? seen.headers.authorization).toMatch(/sk-ant-test$/);
    expect(seen.headers['anthropic-version']).toBeTruthy();
  });

  it('stream: the client assembles the same message; text deltas concatenate', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: 'stream' }] }];
    const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 512, messages });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    const expected = 'echo:' + JSON.stringify({ system: null, messages });
    expect(text).toBe(expected);
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: expected })]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(Math.ceil(expected.length / 4));
  });

  it('tool use round trip: call:NAME {json} → tool_use block (plain and streamed); tool_result → echo', async () => {
    const ask: Anthropic.MessageParam = { role: 'user', content: 'call:get_weather {"city":"Paris"}' };
    const first = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, tools, messages: [ask] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content[0] as Anthropic.ToolUseBlock;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(use.id).toMatch(/^toolu_/);

    const streamed = await client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, tools, messages: [ask] }).finalMessage();
    expect(streamed.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(streamed.stop_reason).toBe('tool_use');

    const messages: Anthropic.MessageParam[] = [
      ask,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
    ];
    const second = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 4096, tools, messages });
    expect(second.stop_reason).toBe('end_turn');
    expect((second.content[0] as Anthropic.TextBlock).text).toContain('tool_result');
  });

  it('countTokens and models', async () => {
    const count = await client.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'abc' }] });
    expect(count.input_tokens).toBe(Math.ceil(JSON.stringify({ system: null, messages: [{ role: 'user', content: 'abc' }] }).length / 4));
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('claude-sonnet-4-6');
    expect((await client.models.retrieve('claude-haiku-4-5')).type).toBe('model');
  });

  it('prompt caching: the cache_control prefix is written once, then read', async () => {
    const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: 'long policy '.repeat(50), cache_control: { type: 'ephemeral' } }];
    const ask = (content: string) => client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 4096, system, messages: [{ role: 'user', content }] });
    const a = await ask('first question');
    const b = await ask('second question');
    expect(a.usage.cache_creation_input_tokens).toBeGreaterThan(100);
    expect(a.usage.cache_read_input_tokens).toBe(0);
    expect(b.usage.cache_read_input_tokens).toBe(a.usage.cache_creation_input_tokens);
    expect(b.usage.cache_creation_input_tokens).toBe(0);
    expect(b.usage.input_tokens).toBeLessThan(a.usage.cache_creation_input_tokens!);
  });

  it('max_tokens cuts the echo: stop_reason max_tokens', async () => {
    const msg = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 3, messages: [{ role: 'user', content: 'a long enough question' }] });
    expect(msg.stop_reason).toBe('max_tokens');
    expect((msg.content[0] as Anthropic.TextBlock).text).toBe('echo:{"system"'.slice(0, 12));
    expect(msg.usage.output_tokens).toBe(3);
  });
});

describe('anthropic wire details', () => {
  it('stream events: names and order, ping after the first block start, usage in message_delta', async () => {
    const res = await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['request-id']).toMatch(/^req_/);
    const events = (await res.body.text())
      .split('\n\n')
      .filter(Boolean)
      .map((e) => {
        const [name, data] = e.split('\n');
        const parsed = JSON.parse(data!.slice('data: '.length));
        expect(name).toBe('event: ' + parsed.type);
        return parsed;
      });
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0].message).toMatchObject({ content: [], stop_reason: null, usage: { output_tokens: 1 } });
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: expect.any(Number), cache_read_input_tokens: 0 } });
    expect(events.some((e) => e.type === 'content_block_delta' && e.delta.type !== 'text_delta')).toBe(false);
  });

  it('missing x-api-key → 401 authentication_error; missing anthropic-version → 400; wrong key with apiKeys → 401', async () => {
    const noKey = await post('/v1/messages', { model: 'm', max_tokens: 1, messages: [] }, { 'anthropic-version': '2023-06-01' });
    expect(noKey.statusCode).toBe(401);
    expect(await noKey.body.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' }, request_id: expect.stringMatching(/^req_/) });
    const noVersion = await post('/v1/messages', { model: 'm', max_tokens: 1, messages: [] }, { 'x-api-key': 'k' });
    expect(noVersion.statusCode).toBe(400);
    expect(((await noVersion.body.json()) as any).error.type).toBe('invalid_request_error');
    const strict = await startMockUpstream({ protocol: 'anthropic', apiKeys: ['good'] });
    try {
      const bad = new Anthropic({ baseURL: strict.url, apiKey: 'bad', maxRetries: 0 });
      await expect(bad.models.list()).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      const good = new Anthropic({ baseURL: strict.url, apiKey: 'good', maxRetries: 0 });
      expect((await good.models.list()).data.length).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  });

  it('validation: max_tokens and messages are required', async () => {
    const res = await post('/v1/messages', { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }] });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });

  it('faults: failRate with failStatus 529 → overloaded_error the client recognises; 429 has retry-after', async () => {
    const overloaded = await startMockUpstream({ protocol: 'anthropic', failRate: 1, failStatus: 529 });
    try {
      const c = new Anthropic({ baseURL: overloaded.url, apiKey: 'k', maxRetries: 0 });
      const err = await c.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(err.status).toBe(529);
      expect(err.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
      // Listing models is not a model call: failRate does not apply.
      expect((await c.models.list()).data.length).toBeGreaterThan(0);
      const limited = await post('/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, {
        'x-api-key': 'k',
        'anthropic-version': '2023-06-01',
        'x-mock-fail': '429',
      });
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(((await limited.body.json()) as any).error.type).toBe('rate_limit_error');
    } finally {
      await overloaded.close();
    }
  });

  it('OpenAI routes are not served in anthropic mode (404, Anthropic-shaped)', async () => {
    const res = await post('/v1/chat/completions', { messages: [] });
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as any).error.type).toBe('not_found_error');
  });
});
