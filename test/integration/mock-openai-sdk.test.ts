// The mock's OpenAI surface driven by the official `openai` client: if the shapes were wrong,
// the client would throw or hand back something else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';

let mock: MockUpstream;
let client: OpenAI;
beforeAll(async () => {
  mock = await startMockUpstream({ chunks: 4 });
  client = new OpenAI({ baseURL: mock.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(async () => {
  await mock.close();
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

describe('responses (official client)', () => {
  it('create: echoes instructions and input; usage; retrieve returns the same response', async () => {
    const res = await client.responses.create({ model: 'gpt-4o-mini', instructions: 'be brief', input: 'hello "you" 😀' });
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.id).toMatch(/^resp_/);
    expect(res.output_text).toBe('echo:' + JSON.stringify({ instructions: 'be brief', input: 'hello "you" 😀' }));
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(res.usage!.output_tokens).toBe(Math.ceil(res.output_text.length / 4));
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens);
    const again = await client.responses.retrieve(res.id);
    expect(again.id).toBe(res.id);
    expect(again.output_text).toBe(res.output_text);
  });

  it('stream: typed events in order, deltas concatenate to the text, completed carries usage', async () => {
    const input = [{ role: 'user' as const, content: 'stream me' }];
    const stream = await client.responses.create({ model: 'gpt-4o', input, stream: true });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    const expected = 'echo:' + JSON.stringify({ instructions: null, input });
    expect(text).toBe(expected);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(4).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(seqs).toEqual(types.map((_, i) => i));
    expect(completed!.usage!.output_tokens).toBe(Math.ceil(expected.length / 4));
    expect(completed!.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text: expected }] });
  });

  it('responses.stream helper: finalResponse has the text', async () => {
    const final = await client.responses.stream({ model: 'gpt-4o', input: 'x' }).finalResponse();
    expect(final.output_text).toBe('echo:{"instructions":null,"input":"x"}');
  });

  it('function call round trip: call:NAME {json} → function_call item; its output → echo', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', tools: [weatherTool], input: 'call:get_weather {"city":"Paris"}' });
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    expect(call.call_id).toMatch(/^call_/);
    const second = await client.responses.create({
      model: 'gpt-4o',
      tools: [weatherTool],
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toContain('function_call_output');
    // The chain's earlier context counts as (cached) input.
    expect(second.usage!.input_tokens_details.cached_tokens).toBe(first.usage!.total_tokens);
  });

  it('streamed function call: argument deltas then done', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o', tools: [weatherTool], input: 'call:get_weather {"city":"Oslo","days":3}', stream: true });
    let args = '';
    let done: string | undefined;
    for await (const ev of stream) {
      if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
      if (ev.type === 'response.function_call_arguments.done') done = ev.arguments;
    }
    expect(args).toBe('{"city":"Oslo","days":3}');
    expect(done).toBe(args);
  });

  it('input_items lists the input (newest first by default); input_tokens counts', async () => {
    const res = await client.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
      ],
    });
    const page = await client.responses.inputItems.list(res.id);
    expect(page.data.map((i) => (i as any).content[0].text)).toEqual(['two', 'one']);
    const asc = await client.responses.inputItems.list(res.id, { order: 'asc' });
    expect(asc.data.map((i) => (i as any).content[0].text)).toEqual(['one', 'two']);
    const count = await client.responses.inputTokens.count({ model: 'gpt-4o', input: 'abcd'.repeat(10) });
    expect(count).toEqual({ object: 'response.input_tokens', input_tokens: Math.ceil(JSON.stringify({ instructions: null, input: 'abcd'.repeat(10) }).length / 4) });
  });

  it('delete, then retrieve is a 404; an unknown previous_response_id is a 400', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: 'bye' });
    await client.responses.delete(res.id);
    await expect(client.responses.retrieve(res.id)).rejects.toMatchObject({ status: 404 });
    await expect(client.responses.create({ model: 'gpt-4o', input: 'x', previous_response_id: 'resp_nope' })).rejects.toMatchObject({
      status: 400,
      code: 'previous_response_not_found',
    });
  });

  it('background: queued, cancel → cancelled; a non-background response cannot be cancelled', async () => {
    const bg = await client.responses.create({ model: 'gpt-4o', input: 'later', background: true });
    expect(bg.status).toBe('queued');
    const cancelled = await client.responses.cancel(bg.id);
    expect(cancelled.status).toBe('cancelled');
    const bg2 = await client.responses.create({ model: 'gpt-4o', input: 'later', background: true });
    expect((await client.responses.retrieve(bg2.id)).status).toBe('completed');
    const plain = await client.responses.create({ model: 'gpt-4o', input: 'now' });
    await expect(client.responses.cancel(plain.id)).rejects.toMatchObject({ status: 400 });
  });
});

describe('embeddings (official client)', () => {
  it('float: deterministic unit vectors; equal inputs equal, different inputs differ', async () => {
    const a = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta', 'alpha'], encoding_format: 'float' });
    expect(a.object).toBe('list');
    expect(a.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [v0, v1, v2] = a.data.map((d) => d.embedding);
    expect(v0).toHaveLength(1536);
    expect(v2).toEqual(v0);
    expect(v1).not.toEqual(v0);
    expect(Math.hypot(...v0!)).toBeCloseTo(1, 5);
    // ~4 characters a token: alpha 2, beta 1, alpha 2
    expect(a.usage.prompt_tokens).toBe(5);
  });

  it('base64 (the client default) decodes to the same numbers as float; dimensions honoured', async () => {
    const float = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'same', encoding_format: 'float', dimensions: 64 });
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'same', dimensions: 64 });
    expect(decoded.data[0]!.embedding).toHaveLength(64);
    expect(decoded.data[0]!.embedding).toEqual(float.data[0]!.embedding);
    const raw = await client.embeddings.create({ model: 'm', input: 'same', encoding_format: 'base64', dimensions: 64 });
    expect(typeof raw.data[0]!.embedding).toBe('string');
  });
});

describe('completions, models, moderations (official client)', () => {
  it('legacy completion: plain and streamed echo of the prompt', async () => {
    const c = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say "hi"' });
    expect(c.object).toBe('text_completion');
    expect(c.choices[0]!.text).toBe('echo:"Say \\"hi\\""');
    expect(c.choices[0]!.finish_reason).toBe('stop');
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say "hi"', stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(c.choices[0]!.text);
    expect(usage).toEqual(c.usage);
  });

  it('models.retrieve: a listed model; an unknown one is a 404 model_not_found', async () => {
    const m = await client.models.retrieve('gpt-4o');
    expect(m).toMatchObject({ id: 'gpt-4o', object: 'model', owned_by: 'ibex-mock' });
    await expect(client.models.retrieve('nope-1')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('moderations: flag:CATEGORY flags that category', async () => {
    const r = await client.moderations.create({ input: ['fine text', 'this is flag:violence'] });
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(r.results[1]!.categories.violence).toBe(true);
    expect(r.results[1]!.categories.hate).toBe(false);
    expect(r.results[1]!.category_scores.violence).toBeGreaterThan(0.9);
  });
});

describe('chat completions tool calls (official client)', () => {
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];

  it('non-streaming: tool_calls with the arguments, finish_reason tool_calls; the tool result round trip echoes', async () => {
    const first = await client.chat.completions.create({ model: 'gpt-4o', tools, messages: [{ role: 'user', content: 'call:get_weather {"city":"Rome"}' }] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Rome"}' });
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'call:get_weather {"city":"Rome"}' },
      choice.message as OpenAI.Chat.ChatCompletionMessageParam,
      { role: 'tool', tool_call_id: call.id, content: 'sunny' },
    ];
    const second = await client.chat.completions.create({ model: 'gpt-4o', tools, messages });
    expect(second.choices[0]!.finish_reason).toBe('stop');
    expect(second.choices[0]!.message.content).toBe('echo:' + JSON.stringify(messages));
  });

  it('without tools the trigger text is just echoed', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'call:get_weather {}' }] });
    expect(r.choices[0]!.message.content).toMatch(/^echo:/);
  });

  it('streaming: parallel calls as indexed argument deltas; the client assembles them', async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      tools,
      messages: [{ role: 'user', content: 'call:get_weather {"city":"A"}\ncall:get_time {"tz":"UTC"}' }],
    });
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0]!.message.tool_calls!.map((c) => (c as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function);
    expect(calls.map(({ name, arguments: args }) => ({ name, args }))).toEqual([
      { name: 'get_weather', args: '{"city":"A"}' },
      { name: 'get_time', args: '{"tz":"UTC"}' },
    ]);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });
});
