import { describe, expect, it } from 'vitest';
import { IbexError } from '../../src/errors.js';
import {
  chatToResponsesResponse,
  createChatToResponsesStream,
  createReassembler,
  responsesToChatRequest,
  summarise,
  type ResponsesBody,
} from '../../src/protocols/openai-responses/index.js';
import { CHAT_COMPLETION, REQUEST, chatChunks, chatSse, pieces } from './protocol-openai-responses-fixtures.js';

const body = REQUEST as unknown as ResponsesBody;
const NOW = () => 1_760_000_200_000;
const opts = { responseId: 'resp_t1', now: NOW };

function param(fn: () => unknown): string | null {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IbexError);
    expect((e as IbexError).status).toBe(400);
    return (e as IbexError).param;
  }
  throw new Error('expected a 400');
}

function translateStream(bytes: Buffer, sizes: number[], o: { responseId: string; now: () => number } = opts): string {
  const t = createChatToResponsesStream(body, o);
  let out = '';
  for (const p of pieces(bytes, sizes)) out += t.push(p);
  return out + t.end();
}

function events(sseText: string): Record<string, any>[] {
  return sseText
    .split('\n\n')
    .filter((b) => b !== '')
    .map((block) => {
      const [ev, data] = block.split('\n');
      const parsed = JSON.parse(data!.slice('data: '.length));
      expect(ev).toBe(`event: ${parsed.type}`);
      return parsed;
    });
}

describe('responsesToChatRequest', () => {
  it('maps instructions, input items, tools, tool_choice and settings to a chat body', () => {
    expect(responsesToChatRequest(body)).toEqual({
      model: 'claude-sonnet',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in Paris?' },
            { type: 'image_url', image_url: { url: 'https://x.test/p.png', detail: 'low' } },
          ],
        },
        // the reasoning item is dropped; the text and both calls are one assistant message
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"c":21}' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
        { role: 'system', content: 'Use metric units.' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 0.2,
      top_p: 0.9,
      parallel_tool_calls: false,
      max_completion_tokens: 500,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: { type: 'object' }, strict: true } },
    });
  });

  it('a string input is one user message; stream asks for usage; max_output_tokens as max_completion_tokens', () => {
    const chat = responsesToChatRequest({ model: 'm', input: 'hi', stream: true, max_output_tokens: 9, text: { format: { type: 'json_object' } } });
    expect(chat).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 9,
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('a continued conversation needs the earlier turns from ibex, prepended after the instructions', () => {
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'and now?', previous_response_id: 'resp_1' }))).toBe('previous_response_id');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'and now?', conversation: 'conv_1' }))).toBe('conversation');
    // a conversation object lives at OpenAI: no history of ibex's stands in for it
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'and now?', conversation: 'conv_1' }, { history: [] }))).toBe('conversation');
    const history = [
      { type: 'message', role: 'user', content: 'first' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'one', annotations: [] }] },
    ];
    const chat = responsesToChatRequest({ model: 'm', instructions: 'D', input: 'and now?', previous_response_id: 'resp_1' }, { history });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'D' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
      { role: 'user', content: 'and now?' },
    ]);
  });

  it('refuses, naming the field, what chat completions cannot carry', () => {
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', tools: [{ type: 'web_search' }] }))).toBe('tools[0]');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ type: 'web_search_call', id: 'ws', status: 'completed' }] }))).toBe('input[0]');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }] }))).toBe('input[0].content[0]');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', tool_choice: { type: 'web_search_preview' } }))).toBe('tool_choice');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', prompt: { id: 'pmpt_1' } }))).toBe('prompt');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', background: true }))).toBe('background');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', text: { format: { type: 'grammar' } } }))).toBe('text.format');
  });

  it('refuses fields and parts of the wrong type instead of dropping them', () => {
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', tools: 'x' }))).toBe('tools');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', max_output_tokens: 'x' }))).toBe('max_output_tokens');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', text: 'x' }))).toBe('text');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', text: { format: 'x' } }))).toBe('text.format');
    expect(param(() => responsesToChatRequest({ model: 'm', input: 'x', reasoning: 'x' }))).toBe('reasoning');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] }))).toBe('input[0].content[0].text');
    expect(responsesToChatRequest({ model: 'm', input: 'x', max_output_tokens: null, text: null, tools: null }).messages).toHaveLength(1);
  });

  it('refuses function calls and outputs chat could not pair: no call_id, name or arguments text', () => {
    const call = { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' };
    const output = { type: 'function_call_output', call_id: 'call_1', output: 'ok' };
    expect(responsesToChatRequest({ model: 'm', input: [call, output] }).messages).toHaveLength(2);
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ ...call, call_id: undefined }, output] }))).toBe('input[0].call_id');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ ...call, name: '' }, output] }))).toBe('input[0].name');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [{ ...call, arguments: { a: 1 } }, output] }))).toBe('input[0].arguments');
    expect(param(() => responsesToChatRequest({ model: 'm', input: [call, { ...output, call_id: 7 }] }))).toBe('input[1].call_id');
  });
});

describe('chatToResponsesResponse', () => {
  it('builds a Response with a message, function calls, usage and the request settings echoed', () => {
    const r = chatToResponsesResponse(CHAT_COMPLETION, body, opts);
    expect(r).toMatchObject({
      id: 'resp_t1',
      object: 'response',
      created_at: 1_760_000_100,
      completed_at: 1_760_000_200,
      status: 'completed',
      model: 'claude-sonnet-4-5',
      instructions: 'Answer in French.',
      max_output_tokens: 500,
      temperature: 0.2,
      tool_choice: { type: 'function', name: 'get_weather' },
      tools: REQUEST.tools,
      error: null,
      incomplete_details: null,
      output: [
        { type: 'message', id: 'msg_t1_0', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Il fait beau.', annotations: [] }] },
        { type: 'function_call', id: 'fc_t1_1', call_id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
        { type: 'function_call', id: 'fc_t1_2', call_id: 'toolu_2', name: 'get_weather', arguments: '{"city":"Lyon"}', status: 'completed' },
      ],
      usage: { input_tokens: 90, output_tokens: 30, total_tokens: 120, input_tokens_details: { cached_tokens: 64 }, output_tokens_details: { reasoning_tokens: 8 } },
    });
    expect(summarise(r)).toMatchObject({
      text: 'Il fait beau.',
      toolCalls: [
        { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'toolu_2', name: 'get_weather', arguments: '{"city":"Lyon"}' },
      ],
      usage: { promptTokens: 90, completionTokens: 30, totalTokens: 120, cachedTokens: 64, reasoningTokens: 8 },
      completed: true,
      responseId: 'resp_t1',
    });
  });

  it('finish_reason length is an incomplete response; ids are random without a seed', () => {
    const cut = { ...CHAT_COMPLETION, choices: [{ ...CHAT_COMPLETION.choices[0]!, finish_reason: 'length' as const }] };
    const r = chatToResponsesResponse(cut, body);
    expect(r).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(chatToResponsesResponse(cut, body).id).not.toBe(r.id);
    expect(summarise(r).finishReason).toBe('incomplete:max_output_tokens');
  });
});

describe('createChatToResponsesStream', () => {
  const upstream = chatSse(chatChunks());

  it('emits the Responses event sequence with increasing sequence numbers and correct output indexes', () => {
    const evs = events(translateStream(upstream, [upstream.length]));
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    const argDeltas = evs.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(argDeltas.map((e) => [e.output_index, e.item_id, e.delta])).toEqual([
      [1, 'fc_t1_1', '{"city":'],
      [1, 'fc_t1_1', '"Paris"}'],
      [2, 'fc_t1_2', '{"city":"Lyon"}'],
    ]);
    expect(evs[0]!.response).toMatchObject({ id: 'resp_t1', status: 'in_progress', output: [] });
    const done = evs.at(-1)!.response;
    expect(done).toEqual(chatToResponsesResponse(CHAT_COMPLETION, body, opts));
  });

  it('gives the same bytes whatever the upstream split (every byte boundary)', () => {
    const whole = translateStream(upstream, [upstream.length]);
    const differ: number[] = [];
    for (let at = 1; at < upstream.length; at++) {
      const t = createChatToResponsesStream(body, opts);
      const out = t.push(upstream.subarray(0, at)) + t.push(upstream.subarray(at)) + t.end();
      if (out !== whole) differ.push(at);
    }
    expect(differ).toEqual([]);
    expect(translateStream(upstream, [1])).toBe(whole);
  });

  it('round trip: the reassembled translated stream has the facts of the translated JSON reply', () => {
    const r = createReassembler(1 << 20);
    for (const p of pieces(Buffer.from(translateStream(upstream, [3, 17])), [5, 11])) r.push(p);
    const streamed = r.finish();
    const { output: _o, ...fromJson } = summarise(chatToResponsesResponse(CHAT_COMPLETION, body, opts));
    expect(streamed).toMatchObject({ ...fromJson, truncated: false });
  });

  it('length → response.incomplete; a cut upstream → response.failed; an in-band error → error + failed', () => {
    const incomplete = events(translateStream(chatSse(chatChunks('length')), [64]));
    expect(incomplete.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });

    const cut = events(translateStream(chatSse(chatChunks().slice(0, 5), false), [64]));
    expect(cut.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } });
    // The message ended when the tool call began; the call was cut.
    expect(cut.filter((e) => e.type === 'response.output_item.done').map((e) => e.item.status)).toEqual(['completed', 'incomplete']);
    expect(cut.at(-1)!.response.output.map((i: { status: string }) => i.status)).toEqual(['completed', 'incomplete']);

    const errored = events(translateStream(chatSse([chatChunks()[1]!, { error: { message: 'overloaded', code: 'overloaded_error' } }]), [64]));
    expect(errored.map((e) => e.type)).toContain('error');
    expect(errored.find((e) => e.type === 'error')).toMatchObject({ code: 'overloaded_error', message: 'overloaded', param: null });
    expect(errored.at(-1)).toMatchObject({ type: 'response.failed', response: { error: { message: 'overloaded' } } });
    const r = createReassembler(1 << 20);
    r.push(Buffer.from(translateStream(chatSse([chatChunks()[1]!, { error: { message: 'overloaded' } }]), [64])));
    expect(r.finish()).toMatchObject({ streamError: 'overloaded', completed: true, text: 'Il fait ' });
  });

  it('an upstream that sent nothing still yields a well-formed stream', () => {
    const evs = events(createChatToResponsesStream(body, opts).end());
    expect(evs.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.failed']);
  });

  it('a refusal becomes a refusal content part', () => {
    const base = chatChunks()[0]!;
    const refusal = [{ ...base, choices: [{ index: 0, delta: { refusal: 'I cannot.' }, finish_reason: 'stop' as const, logprobs: null }] }];
    const evs = events(translateStream(chatSse(refusal), [100]));
    expect(evs.map((e) => e.type)).toContain('response.refusal.delta');
    expect(evs.at(-1)!.response.output[0].content).toEqual([{ type: 'refusal', refusal: 'I cannot.' }]);
  });
});
