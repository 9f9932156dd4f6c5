// The Anthropic Messages protocol, reply side: summarise a Message, reassemble a streamed one (split
// at every byte), and translate both for OpenAI chat callers, checked by the official openai client.
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions/completions';
import { describe, expect, it } from 'vitest';
import {
  anthropicToChatResponse,
  createAnthropicToChatStream,
  createReassembler,
  summarise,
} from '../../src/protocols/anthropic-messages/index.js';

// ---- fixtures, typed by the SDK ----

const usage: Message['usage'] = {
  input_tokens: 25,
  output_tokens: 1,
  cache_creation_input_tokens: 10,
  cache_read_input_tokens: 100,
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 10 },
  inference_geo: null,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
};

const TEXT = 'Let me check the weather in Paris — ünïcödé 🌤 and the time.';

function message(over: Partial<Message> = {}): Message {
  return {
    id: 'msg_01XYZ',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason: 'tool_use',
    stop_sequence: null,
    content: [
      { type: 'text', text: 'Let me check the weather in Paris — ünïcödé 🌤', citations: null },
      { type: 'text', text: ' and the time.', citations: null },
      { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris', unit: 'c' }, caller: { type: 'direct' } },
      { type: 'tool_use', id: 'toolu_01B', name: 'get_time', input: { tz: 'Europe/Paris' }, caller: { type: 'direct' } },
    ],
    usage: { ...usage, output_tokens: 57 },
    ...over,
  };
}

/** A realistic stream: text, then two tool calls whose arguments arrive in pieces. */
const events: RawMessageStreamEvent[] = [
  { type: 'message_start', message: message({ content: [], stop_reason: null, usage }) },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check the weather ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'in Paris — ünïcödé 🌤' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' and the time.' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: {}, caller: { type: 'direct' } } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'is", "unit": "c"}' } },
  { type: 'content_block_stop', index: 1 },
  { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01B', name: 'get_time', input: {}, caller: { type: 'direct' } } },
  { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"tz":' } },
  { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: ' "Europe/Paris"}' } },
  { type: 'content_block_stop', index: 2 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
    usage: { output_tokens: 57, input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens_details: null, server_tool_use: null },
  },
  { type: 'message_stop' },
];

function sse(evs: RawMessageStreamEvent[], ping = true): string {
  const parts = evs.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  // Anthropic sends pings; a reader must skip them
  if (ping) parts.splice(1, 0, 'event: ping\ndata: {"type": "ping"}\n\n');
  return parts.join('');
}

const STREAM = Buffer.from(sse(events));

const expectedToolCalls = [
  { id: 'toolu_01A', name: 'get_weather', arguments: '{"city": "Paris", "unit": "c"}' },
  { id: 'toolu_01B', name: 'get_time', arguments: '{"tz": "Europe/Paris"}' },
];

// ---- summarise ----

describe('summarise', () => {
  it('takes text, tool calls, stop reason, id and usage (cache reads and writes count as prompt)', () => {
    expect(summarise(message())).toEqual({
      text: TEXT,
      toolCalls: [
        { id: 'toolu_01A', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
        { id: 'toolu_01B', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
      ],
      finishReason: 'tool_use',
      usage: { promptTokens: 135, completionTokens: 57, totalTokens: 192, cachedTokens: 100 },
      streamError: null,
      completed: true,
      responseId: 'msg_01XYZ',
    });
  });

  it('text is null without text blocks; thinking tokens are reasoning tokens', () => {
    const facts = summarise(
      message({ content: [], stop_reason: 'end_turn', usage: { ...usage, cache_read_input_tokens: null, cache_creation_input_tokens: null, output_tokens: 9, output_tokens_details: { thinking_tokens: 4 } } }),
    );
    expect(facts.text).toBeNull();
    expect(facts.finishReason).toBe('end_turn');
    expect(facts.usage).toEqual({ promptTokens: 25, completionTokens: 9, totalTokens: 34, reasoningTokens: 4 });
  });

  it('an error body is a stream error, not a completed reply', () => {
    const facts = summarise({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(facts.streamError).toBe('Overloaded');
    expect(facts.completed).toBe(false);
  });
});

// ---- reassembly ----

describe('createReassembler', () => {
  const whole = {
    text: TEXT,
    toolCalls: expectedToolCalls,
    finishReason: 'tool_use',
    usage: { promptTokens: 135, completionTokens: 57, totalTokens: 192, cachedTokens: 100 },
    streamError: null,
    completed: true,
    responseId: 'msg_01XYZ',
    truncated: false,
    bytes: STREAM.length,
  };

  it('rebuilds the reply from the stream split at every byte boundary', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const r = createReassembler(1 << 20);
      r.push(STREAM.subarray(0, cut));
      r.push(STREAM.subarray(cut));
      expect(r.finish(), `split at ${cut}`).toEqual(whole);
    }
  });

  it('rebuilds it from one byte at a time, and from CRLF line ends', () => {
    const r = createReassembler(1 << 20);
    for (let i = 0; i < STREAM.length; i++) r.push(STREAM.subarray(i, i + 1));
    expect(r.finish()).toEqual(whole);
    const crlf = Buffer.from(STREAM.toString('utf8').replace(/\n/g, '\r\n'));
    const r2 = createReassembler(1 << 20);
    r2.push(crlf);
    expect(r2.finish()).toMatchObject({ text: TEXT, toolCalls: expectedToolCalls, completed: true });
  });

  it('a stream cut before message_stop is not completed', () => {
    const cut = STREAM.toString('utf8').indexOf('event: message_delta');
    const r = createReassembler(1 << 20);
    r.push(STREAM.subarray(0, cut));
    const facts = r.finish();
    expect(facts.completed).toBe(false);
    expect(facts.finishReason).toBeNull();
    expect(facts.text).toBe(TEXT);
    expect(facts.usage).toEqual({ promptTokens: 135, completionTokens: 1, totalTokens: 136, cachedTokens: 100 });
  });

  it('an error event is the stream error', () => {
    const body = sse(events.slice(0, 4), false) + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    const r = createReassembler(1 << 20);
    r.push(Buffer.from(body));
    expect(r.finish()).toMatchObject({ streamError: 'Overloaded', completed: false, text: 'Let me check the weather in Paris — ünïcödé 🌤' });
  });

  it('past maxBytes the text stops growing but stop reason, usage and completion are still read', () => {
    const long = 'x'.repeat(5000);
    const body = Buffer.from(
      sse([
        ...events.slice(0, 2),
        ...Array.from({ length: 20 }, (): RawMessageStreamEvent => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: long } })),
        { type: 'content_block_stop', index: 0 },
        ...events.slice(-2),
      ]),
    );
    const r = createReassembler(20_000);
    for (let i = 0; i < body.length; i += 1000) r.push(body.subarray(i, i + 1000));
    const facts = r.finish();
    expect(facts.truncated).toBe(true);
    expect(facts.bytes).toBe(body.length);
    expect(facts.text!.length).toBeLessThan(20_000);
    expect(facts.text!.length).toBeGreaterThan(10_000);
    expect(facts).toMatchObject({ finishReason: 'tool_use', completed: true, usage: { completionTokens: 57 } });
  });

  it('a single line longer than maxBytes is dropped without being held', () => {
    const body = Buffer.from(
      sse([events[0]!, events[1]!, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'y'.repeat(50_000) } }, ...events.slice(-2)]),
    );
    const r = createReassembler(10_000);
    for (let i = 0; i < body.length; i += 512) r.push(body.subarray(i, i + 512));
    expect(r.finish()).toMatchObject({ truncated: true, text: '', completed: true, finishReason: 'tool_use' });
  });

  it('push does not rescan what it already read (a long stream in small chunks stays linear)', () => {
    const delta = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'abcdefgh' } })}\n\n`;
    const time = (n: number) => {
      const chunk = Buffer.from(delta.repeat(n));
      const r = createReassembler(1 << 30);
      r.push(Buffer.from(sse(events.slice(0, 2), false)));
      const t0 = performance.now();
      for (let i = 0; i < chunk.length; i += 7) r.push(chunk.subarray(i, i + 7));
      const ms = performance.now() - t0;
      expect(r.finish().text!.length).toBe(8 * n);
      return ms;
    };
    time(2000); // warm-up
    const small = time(4000);
    const big = time(32000);
    // 8× the bytes: linear is ~8×; quadratic would be ~64×. Generous for a loaded machine.
    expect(big / small).toBeLessThan(30);
  });
});

// ---- for OpenAI chat callers ----

describe('anthropicToChatResponse', () => {
  it('is a chat.completion with text, tool calls, finish reason and usage with cached tokens', () => {
    const chat = anthropicToChatResponse(message(), { created: 1700000000 });
    expect(chat).toEqual({
      id: 'msg_01XYZ',
      object: 'chat.completion',
      created: 1700000000,
      model: 'claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: TEXT,
            refusal: null,
            tool_calls: [
              { id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } },
              { id: 'toolu_01B', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
            ],
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 135, completion_tokens: 57, total_tokens: 192, prompt_tokens_details: { cached_tokens: 100 } },
    });
  });

  const stops: [Message['stop_reason'], string][] = [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['model_context_window_exceeded', 'length'],
    ['pause_turn', 'stop'],
  ];
  for (const [stop, finish] of stops) {
    it(`stop_reason ${stop} → finish_reason ${finish}`, () => {
      const chat = anthropicToChatResponse(message({ stop_reason: stop, content: [{ type: 'text', text: 'hi', citations: null }] }));
      expect((chat.choices as { finish_reason: string }[])[0]!.finish_reason).toBe(finish);
    });
  }
});

function translate(input: Buffer, includeUsage: boolean, step = 0): string {
  const t = createAnthropicToChatStream({ includeUsage, created: 1700000000 });
  let out = '';
  if (step === 0) out += t.push(input);
  else for (let i = 0; i < input.length; i += step) out += t.push(input.subarray(i, i + step));
  return out + t.end();
}

function chunksOf(out: string): ChatCompletionChunk[] {
  return out
    .split('\n\n')
    .filter((s) => s.startsWith('data: ') && s !== 'data: [DONE]')
    .map((s) => JSON.parse(s.slice(6)) as ChatCompletionChunk);
}

describe('createAnthropicToChatStream', () => {
  it('sends role, content, tool_calls (index, id, name, then arguments), finish, usage, [DONE]', () => {
    const out = translate(STREAM, true);
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = chunksOf(out);
    expect(chunks.every((c) => c.id === 'msg_01XYZ' && c.object === 'chat.completion.chunk' && c.model === 'claude-sonnet-4-5')).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(TEXT);
    const calls = deltas.flatMap((d) => d.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(calls.filter((c) => c.index === 0).map((c) => c.function?.arguments).join('')).toBe('{"city": "Paris", "unit": "c"}');
    expect(calls.find((c) => c.index === 1)).toEqual({ index: 1, id: 'toolu_01B', type: 'function', function: { name: 'get_time', arguments: '' } });
    expect(calls.filter((c) => c.index === 1).map((c) => c.function?.arguments).join('')).toBe('{"tz": "Europe/Paris"}');
    // no index beyond the two calls, and ids only on each call's first delta
    expect(new Set(calls.map((c) => c.index))).toEqual(new Set([0, 1]));
    expect(calls.filter((c) => c.id).length).toBe(2);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish).toHaveLength(1);
    expect(finish[0]!.choices[0]!.finish_reason).toBe('tool_calls');
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 135, completion_tokens: 57, total_tokens: 192, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it('sends no usage chunk unless asked, and the same bytes however the input is split', () => {
    const whole = translate(STREAM, false);
    expect(chunksOf(whole).some((c) => c.usage)).toBe(false);
    for (const step of [1, 3, 17, 64]) expect(translate(STREAM, false, step)).toBe(whole);
  });

  it('an error event becomes an OpenAI in-stream error chunk, with nothing after it', () => {
    const body = sse(events.slice(0, 3), false) + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n' + sse(events.slice(-1), false);
    const out = translate(Buffer.from(body), true);
    const chunks = out.split('\n\n').filter(Boolean);
    expect(JSON.parse(chunks[chunks.length - 1]!.slice(6))).toEqual({ error: { message: 'Overloaded', type: 'api_error', code: 'overloaded_error', param: null } });
    expect(out).not.toContain('[DONE]');
  });

  it('a stream that ends before message_stop ends with an error chunk, not [DONE]', () => {
    const out = translate(Buffer.from(sse(events.slice(0, 5), false)), true);
    expect(out).not.toContain('[DONE]');
    expect(out.trimEnd().split('\n\n').pop()).toContain('"error"');
  });
});

// ---- the official openai client reads the translated stream ----

function openaiClientServing(body: string, chunkSize: number): OpenAI {
  const bytes = Buffer.from(body);
  return new OpenAI({
    apiKey: 'test',
    baseURL: 'http://127.0.0.1:1/v1',
    maxRetries: 0,
    fetch: async () =>
      new Response(
        new ReadableStream({
          start(c) {
            for (let i = 0; i < bytes.length; i += chunkSize) c.enqueue(bytes.subarray(i, i + chunkSize));
            c.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'text/event-stream' } },
      ),
  });
}

describe('the openai client on a translated stream', () => {
  it('chat.completions.create({stream:true}) chunks reassemble to the text and both tool calls', async () => {
    const client = openaiClientServing(translate(STREAM, true), 5);
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    const calls: { id: string; name: string; arguments: string }[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta.content ?? '';
      for (const tc of choice.delta.tool_calls ?? []) {
        calls[tc.index] ??= { id: '', name: '', arguments: '' };
        if (tc.id) calls[tc.index]!.id = tc.id;
        if (tc.function?.name) calls[tc.index]!.name = tc.function.name;
        calls[tc.index]!.arguments += tc.function?.arguments ?? '';
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(text).toBe(TEXT);
    expect(calls).toEqual(expectedToolCalls);
    expect(finish).toBe('tool_calls');
    expect(usage).toMatchObject({ prompt_tokens: 135, completion_tokens: 57, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it('chat.completions.stream() accumulates the same final completion', async () => {
    const client = openaiClientServing(translate(STREAM, true), 11);
    const final = await client.chat.completions.stream({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
    const msg = final.choices[0]!.message;
    expect(msg.content).toBe(TEXT);
    expect(msg.tool_calls?.map((c) => (c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : null))).toEqual([
      ['toolu_01A', 'get_weather', { city: 'Paris', unit: 'c' }],
      ['toolu_01B', 'get_time', { tz: 'Europe/Paris' }],
    ]);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('the client raises the translated in-stream error', async () => {
    const body = sse(events.slice(0, 3), false) + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    const client = openaiClientServing(translate(Buffer.from(body), false), 8);
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/Overloaded/);
  });
});
