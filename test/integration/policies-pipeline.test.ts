// Issue 17 through the core request path (in process, mock upstreams): policies in every protocol,
// the stream filter, the judge, and the response cache.
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { redactPii, PII_KINDS } from '../../src/policies/builtin/pii/detect.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/policies');
const TOOLS = [{ type: 'function', function: { name: 'delete_all', parameters: { type: 'object', properties: {} } } }];
const PII = 'Reach jane.doe@example.com or 4242 4242 4242 4242 today';

let p: TestPipeline;
beforeAll(async () => {
  p = await startPipeline({
    baseDir: FIXTURES,
    chunks: 9,
    agents: {
      deny: agent([{ use: 'deny-patterns', patterns: ['(?i)password'] }]),
      // the reply side only: the mock echoes the request, so the PII comes back in the reply, in pieces
      pii: agent([{ use: 'pii-redact', on: ['response'] }]),
      piiIn: agent([{ use: 'pii-redact', on: ['request'] }]),
      judged: agent([{ use: 'judge', model: 'gpt-4o-mini' }]),
      lenient: agent([{ use: 'judge', model: 'gpt-4o-mini', prompt: 'Review this.' }]),
      guarded: agent([{ use: 'tool-guard', deny: ['delete_*'] }]),
      custom: agent([{ use: './no-shouting.mjs' }]),
      cached: agent([], { ttlMs: 60_000 }),
      cached2: agent([], { ttlMs: 60_000 }),
      plain: agent([]),
    },
  });
});
afterAll(() => p?.close());

const chatBody = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

describe('deny-patterns blocks in every protocol, in its error shape, before anything goes upstream', () => {
  const cases: [string, string, Record<string, unknown>, (j: any) => unknown][] = [
    ['chat', '/v1/chat/completions', chatBody('my password is x'), (j) => j.error.code],
    ['chat stream', '/v1/chat/completions', chatBody('my password is x', { stream: true }), (j) => j.error.code],
    ['responses', '/v1/responses', { model: 'gpt-4o-mini', input: 'the PASSWORD?' }, (j) => j.error.code],
    ['completions', '/v1/completions', { model: 'gpt-4o-mini', prompt: 'password:' }, (j) => j.error.code],
    ['anthropic', '/v1/messages', { model: 'claude/claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'password' }] }, (j) => j.type === 'error' && j.error.code],
  ];
  for (const [name, path, body, codeOf] of cases) {
    it(name, async () => {
      const before = p.upstream.length;
      const res = await p.post(path, 'deny', body);
      expect(res.status).toBe(400);
      expect(codeOf(await res.json())).toBe('policy_violation');
      expect(p.upstream.length).toBe(before);
      expect(p.traces.at(-1)).toMatchObject({ status: 400, errorCode: 'policy_violation' });
      expect(p.notes.at(-1)!.policy).toMatch(/^deny-patterns request reject/);
      // the trace records the decision (a blocked request has no checkpoint)
      expect(p.traces.at(-1)!.policyDecisions).toEqual([{ policy: 'deny-patterns', phase: 'request', action: 'reject', detail: expect.stringContaining('#1') }]);
    });
  }
  it('clean requests of the same agent pass, and record no decision', async () => {
    expect((await p.post('/v1/chat/completions', 'deny', chatBody('hello'))).status).toBe(200);
    expect(p.traces.at(-1)).toMatchObject({ policyDecisions: null, cacheStatus: null });
    expect(p.checkpoints.at(-1)!.policyDecisions).toBeNull();
  });
});

describe('pii-redact on streamed replies (values split across the mock\'s chunks)', () => {
  const expected = (echo: string) => redactPii(echo, new Set(PII_KINDS)).text;

  it('chat: the client and the checkpoint get the redacted text', async () => {
    const client = new OpenAI({ baseURL: p.url + '/v1', apiKey: 'x', defaultHeaders: { 'x-ibex-agent': 'pii' } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PII }], stream: true });
    let text = '';
    let deltas = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      deltas++;
    }
    expect(deltas).toBeGreaterThan(5);
    expect(text).toBe(expected(`echo:${JSON.stringify([{ role: 'user', content: PII }])}`));
    expect(text).toContain('[REDACTED_EMAIL]');
    expect(text).toContain('[REDACTED_CARD]');
    expect(text).not.toContain('jane.doe');
    expect(p.checkpoints.at(-1)!.reply).toBe(text);
    expect(p.notes.at(-1)!.policy).toMatch(/pii-redact stream replace/);
    // one folded decision per kind, on the trace and the checkpoint alike
    const decisions = p.checkpoints.at(-1)!.policyDecisions;
    expect(decisions).toContainEqual({ policy: 'pii-redact', phase: 'stream', action: 'replace', detail: expect.any(String) });
    expect(p.traces.at(-1)!.policyDecisions).toEqual(decisions);
  });

  it('responses: deltas and the final response object are redacted (official SDK)', async () => {
    const client = new OpenAI({ baseURL: p.url + '/v1', apiKey: 'x', defaultHeaders: { 'x-ibex-agent': 'pii' } });
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: PII });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    const want = expected(`echo:${JSON.stringify({ instructions: null, input: PII })}`);
    expect(deltas).toBe(want);
    expect(final.output_text).toBe(want);
  });

  it('anthropic: text deltas are redacted (official SDK)', async () => {
    const client = new Anthropic({ baseURL: p.url, apiKey: 'x', defaultHeaders: { 'x-ibex-agent': 'pii' } });
    const stream = client.messages.stream({ model: 'claude/claude-sonnet-4-5', max_tokens: 2000, messages: [{ role: 'user', content: PII }] });
    const msg = await stream.finalMessage();
    const text = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text).toContain('[REDACTED_EMAIL]');
    expect(text).not.toContain('4242 4242');
  });

  it('non-streamed replies are redacted too; the checkpoint records the modify decision', async () => {
    const res = await p.post('/v1/chat/completions', 'pii', chatBody(PII));
    const j = await res.json();
    expect(j.choices[0].message.content).toBe(expected(`echo:${JSON.stringify([{ role: 'user', content: PII }])}`));
    const decision = { policy: 'pii-redact', phase: 'response', action: 'modify', detail: expect.stringMatching(/email/) };
    expect(p.checkpoints.at(-1)!.policyDecisions).toEqual([decision]);
    expect(p.traces.at(-1)!.policyDecisions).toEqual([decision]);
  });
});

describe('pii-redact on requests', () => {
  // A chat stream without include_usage is sent as a copy of the body (ibex asks for usage): the
  // policy's rewrite must reach that copy, upstream and in the checkpoint alike.
  for (const stream of [false, true]) {
    it(`chat${stream ? ' stream' : ''}: what goes upstream and into the checkpoint is redacted`, async () => {
      const res = await p.post('/v1/chat/completions', 'piiIn', chatBody(PII, { stream }));
      expect(res.status).toBe(200);
      await res.text();
      const sent = JSON.stringify(p.upstream.at(-1)!.body!.messages);
      expect(sent).toContain('[REDACTED_EMAIL]');
      expect(sent).not.toContain('jane.doe');
      // The recorder hands the store each message's JSON text, as sent upstream.
      const recorded = p.checkpoints.at(-1)!.messageTexts!.join('\n');
      expect(recorded).toContain('[REDACTED_EMAIL]');
      expect(recorded).not.toContain('jane.doe');
      expect(p.checkpoints.at(-1)!.policyDecisions).toEqual([{ policy: 'pii-redact', phase: 'request', action: 'modify', detail: 'redacted 1 email, 1 card' }]);
    });
  }
});

describe('judge (the mock as judge model)', () => {
  it('blocks a tool call in a non-streamed reply: 400 policy_violation; the judge was asked through ibex', async () => {
    const before = p.upstream.length;
    const res = await p.post('/v1/chat/completions', 'judged', chatBody('call:delete_all {"confirm":true}', { tools: TOOLS }));
    expect(res.status).toBe(400);
    const j = await res.json();
    expect(j.error.code).toBe('policy_violation');
    expect(j.error.message).toContain('tool "delete_all"');
    const judgeCall = p.upstream.slice(before).find((r) => JSON.stringify(r.body).includes('Tool call: delete_all'));
    expect(judgeCall).toBeDefined();
  });

  it('blocks a streamed tool call: the call never reaches the client, the stream ends with the error', async () => {
    const res = await p.post('/v1/chat/completions', 'judged', chatBody('call:delete_all {}', { tools: TOOLS, stream: true }));
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain('"tool_calls"');
    expect(body).toContain('"code":"policy_violation"');
    expect(body).not.toContain('[DONE]');
    expect(p.traces.at(-1)!.errorCode).toBe('policy_violation');
  });

  it('lets a call through when the judge allows it', async () => {
    const res = await p.post('/v1/chat/completions', 'lenient', chatBody('call:delete_all {"note":"ALLOW"}', { tools: TOOLS, stream: true }));
    const body = await res.text();
    expect(body).toContain('"tool_calls"');
    expect(body).toContain('delete_all');
    expect(body).toContain('[DONE]');
  });
});

describe('tool-guard on streams', () => {
  it('anthropic: stops at the denied call with an in-band error event', async () => {
    // the denied tool is dropped from the request; the (mock) model calls it anyway
    const res = await p.post('/v1/messages', 'guarded', {
      model: 'claude/claude-sonnet-4-5',
      max_tokens: 500,
      stream: true,
      tools: [{ name: 'search', input_schema: { type: 'object' } }, { name: 'delete_all', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'call:delete_all {}' }],
    });
    const body = await res.text();
    expect(body).toContain('event: error');
    expect(body).toContain('policy_violation');
    expect(body).not.toContain('message_stop');
    expect(JSON.stringify(p.upstream.at(-1)!.body!.tools)).not.toContain('delete_all');
  });
});

describe('a custom policy module from a test folder', () => {
  it('refuses, rewrites streamed and non-streamed text', async () => {
    const no = await p.post('/v1/chat/completions', 'custom', chatBody('STOP SHOUTING AT ME'));
    expect(no.status).toBe(400);
    expect((await no.json()).error.message).toBe('Blocked by policy no-shouting: please do not shout');
    const j = await (await p.post('/v1/chat/completions', 'custom', chatBody('a SECRET plan'))).json();
    expect(j.choices[0].message.content).toContain('a secret plan');
    const s = await (await p.post('/v1/chat/completions', 'custom', chatBody('a SECRET plan', { stream: true }))).text();
    expect(s).not.toContain('SECRET');
  });
});

describe('response cache', () => {
  it('a hit replays the identical JSON, with x-ibex-cache; the upstream is asked once', async () => {
    const body = chatBody(`cache me ${Math.random()}`);
    const before = p.upstream.length;
    const a = await p.post('/v1/chat/completions', 'cached', body);
    const b = await p.post('/v1/chat/completions', 'cached', body);
    expect(a.headers.get('x-ibex-cache')).toBe('miss');
    expect(b.headers.get('x-ibex-cache')).toBe('hit');
    expect(await b.text()).toBe(await a.text());
    expect(p.upstream.length - before).toBe(1);
    expect(p.checkpoints.at(-1)!.reply).toContain('cache me');
    // the trace and the checkpoint say where each answer came from
    expect(p.traces.slice(-2).map((t) => t.cacheStatus)).toEqual(['miss', 'hit']);
    expect(p.checkpoints.slice(-2).map((c) => c.cacheStatus)).toEqual(['miss', 'hit']);
  });

  it('a streaming caller gets a stream replayed, parsed by the official SDK, same content', async () => {
    const client = new OpenAI({ baseURL: p.url + '/v1', apiKey: 'x', defaultHeaders: { 'x-ibex-agent': 'cached' } });
    const content = `stream me ${Math.random()}`;
    const read = async () => {
      const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true }).withResponse();
      let text = '';
      for await (const c of data) text += c.choices[0]?.delta?.content ?? '';
      return { text, cache: response.headers.get('x-ibex-cache') };
    };
    const first = await read();
    const second = await read();
    expect(first.cache).toBe('miss');
    expect(second).toEqual({ text: first.text, cache: 'hit' });
    expect(first.text).toContain('stream me');
    // a non-streaming caller of the same messages is a different entry
    const j = await p.post('/v1/chat/completions', 'cached', chatBody(content));
    expect(j.headers.get('x-ibex-cache')).toBe('miss');
  });

  it('a streamed hit is what the miss sent, byte for byte: the usage chunk only for a caller that asked for it', async () => {
    const content = `usage me ${Math.random()}`;
    const raw = async (extra: Record<string, unknown>) => {
      const res = await p.post('/v1/chat/completions', 'cached', chatBody(content, { stream: true, ...extra }));
      return { cache: res.headers.get('x-ibex-cache'), text: await res.text() };
    };
    const usageChunk = /"choices":\[\],"usage":\{/;
    const miss = await raw({});
    const hit = await raw({});
    expect([miss.cache, hit.cache]).toEqual(['miss', 'hit']);
    expect(miss.text).not.toMatch(usageChunk);
    expect(hit.text).toBe(miss.text);
    // The entry keeps the provider's stream: a caller that asks for usage gets it from the cache too.
    const asked = await raw({ stream_options: { include_usage: true } });
    expect(asked.text).toMatch(usageChunk);
    expect(p.checkpoints.at(-1)!.usage?.totalTokens).toBeGreaterThan(0);
  });

  it('never crosses agents', async () => {
    const body = chatBody(`shared ${Math.random()}`);
    await p.post('/v1/chat/completions', 'cached', body);
    const other = await p.post('/v1/chat/completions', 'cached2', body);
    expect(other.headers.get('x-ibex-cache')).toBe('miss');
    expect((await p.post('/v1/chat/completions', 'cached2', body)).headers.get('x-ibex-cache')).toBe('hit');
    expect((await p.post('/v1/chat/completions', 'plain', body)).headers.get('x-ibex-cache')).toBeNull();
    expect(p.traces.at(-1)!.cacheStatus).toBeNull(); // no cache for this agent
  });

  it('never caches an error', async () => {
    const body = chatBody(`fail ${Math.random()}`);
    p.mock.configure({ failRate: 1, failStatus: 500 });
    try {
      const a = await p.post('/v1/chat/completions', 'cached', body);
      expect(a.status).toBe(502);
    } finally {
      p.mock.configure({ failRate: 0 });
    }
    const b = await p.post('/v1/chat/completions', 'cached', body);
    expect(b.status).toBe(200);
    expect(b.headers.get('x-ibex-cache')).toBe('miss');
  });
});
