// Translation between the Anthropic Messages and OpenAI chat wire formats: requests both ways, and
// OpenAI chat replies (whole and streamed) for Anthropic callers, checked by the official Anthropic
// client reading the translated bytes.
import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParams, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions/completions';
import { describe, expect, it } from 'vitest';
import { IbexError } from '../../src/errors.js';
import {
  anthropicToChatRequest,
  chatToAnthropicRequest,
  chatToAnthropicResponse,
  createChatToAnthropicStream,
  DEFAULT_MAX_TOKENS,
  placeDirective,
} from '../../src/protocols/anthropic-messages/index.js';

/** The `param` of the 400 a translation threw, or null when it translated. */
function refusedParam(translate: () => unknown): string | null {
  try {
    translate();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(IbexError);
    expect((e as IbexError).status).toBe(400);
    return (e as IbexError).param;
  }
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

// ---- Anthropic caller → OpenAI-compatible provider: the request ----

describe('anthropicToChatRequest', () => {
  // temperature, top_p and top_k: older callers still send them (no longer in the SDK's params)
  const body: MessageCreateParams & Record<string, unknown> = {
    model: 'gpt-4o-mini',
    max_tokens: 512,
    system: [
      { type: 'text', text: 'Directive.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Caller system.' },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these, and the weather?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: { tz: 'CET' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '14:00' }], is_error: true },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ],
    tools: [
      { name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      { name: 'get_time', input_schema: { type: 'object', properties: { tz: { type: 'string' } } } },
    ],
    tool_choice: { type: 'any', disable_parallel_tool_use: true },
    stop_sequences: ['END'],
    temperature: 0.3,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'u-1' },
    stream: true,
  };

  it('maps system, content blocks, images, tool calls and results, tools and options', () => {
    const out = anthropicToChatRequest(body as unknown as Record<string, unknown>) as unknown as ChatCompletionCreateParams;
    expect(out).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Directive.' },
        { role: 'system', content: 'Caller system.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these, and the weather?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: 14:00' },
        { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
      ],
      max_completion_tokens: 512,
      stop: ['END'],
      temperature: 0.3,
      top_p: 0.9,
      user: 'u-1',
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('keeps the directive first after placeDirective on a string system', () => {
    const placed = placeDirective({ model: 'm', max_tokens: 5, system: 'caller', messages: [{ role: 'user', content: 'hi' }] }, 'D');
    const out = anthropicToChatRequest(placed);
    expect(out.messages).toEqual([
      { role: 'system', content: 'D' },
      { role: 'system', content: 'caller' },
      { role: 'user', content: 'hi' },
    ]);
    expect(out.stream).toBeUndefined();
  });

  const choices: [MessageCreateParams['tool_choice'], unknown][] = [
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
    [{ type: 'tool', name: 'get_time' }, { type: 'function', function: { name: 'get_time' } }],
  ];
  for (const [choice, expected] of choices) {
    it(`tool_choice ${choice!.type} → ${JSON.stringify(expected)}`, () => {
      const out = anthropicToChatRequest({ ...body, tool_choice: choice } as unknown as Record<string, unknown>);
      expect(out.tool_choice).toEqual(expected);
      expect(out.parallel_tool_calls).toBeUndefined();
    });
  }

  it('refuses server tools and document kinds chat cannot carry, naming the field', () => {
    const serverTool = { ...body, tools: [{ type: 'web_search_20250305', name: 'web_search' }] };
    expect(() => anthropicToChatRequest(serverTool as unknown as Record<string, unknown>)).toThrow(IbexError);
    const doc = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'f' } }] }] };
    try {
      anthropicToChatRequest(doc);
      throw new Error('accepted');
    } catch (e) {
      expect((e as IbexError).param).toBe('messages[0].content[0]');
    }
  });

  it('refuses MCP servers (tools Anthropic runs), naming mcp_servers; an empty list is nothing to refuse', () => {
    const mcp = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'docs' }] };
    expect(() => anthropicToChatRequest(mcp)).toThrow(expect.objectContaining({ status: 400, param: 'mcp_servers' }));
    expect(anthropicToChatRequest({ ...mcp, mcp_servers: [] }).messages).toEqual([{ role: 'user', content: 'hi' }]);
  });
});

// ---- OpenAI chat caller → Anthropic provider: the request ----

describe('chatToAnthropicRequest', () => {
  const body: ChatCompletionCreateParams = {
    model: 'claude-sonnet-4-5',
    messages: [
      { role: 'system', content: 'Directive.' },
      { role: 'developer', content: [{ type: 'text', text: 'Developer rules.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look:' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
      { role: 'user', content: 'Thanks' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: false,
    max_completion_tokens: 300,
    stop: 'END',
    temperature: 0.5,
    user: 'u-2',
    stream: true,
    stream_options: { include_usage: true },
  };

  it('hoists system and developer messages, merges tool results into one user turn, maps images and tools', () => {
    const out = chatToAnthropicRequest(body as unknown as Record<string, unknown>) as unknown as MessageCreateParams;
    expect(out).toEqual({
      model: 'claude-sonnet-4-5',
      system: [
        { type: 'text', text: 'Directive.' },
        { type: 'text', text: 'Developer rules.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look:' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_2', name: 'get_time', input: { tz: 'CET' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: '18°C' },
            { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
      max_tokens: 300,
      stop_sequences: ['END'],
      metadata: { user_id: 'u-2' },
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      stream: true,
    });
  });

  it('defaults max_tokens, takes max_tokens when given, keeps string content and tool_choice forms', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(chatToAnthropicRequest(base)).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: DEFAULT_MAX_TOKENS });
    expect(chatToAnthropicRequest({ ...base, max_tokens: 77 }).max_tokens).toBe(77);
    const tools = [{ type: 'function', function: { name: 'f' } }];
    expect(chatToAnthropicRequest({ ...base, tools, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' });
    expect(chatToAnthropicRequest({ ...base, tools, tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' });
    expect(chatToAnthropicRequest({ ...base, tools, tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' });
    expect(chatToAnthropicRequest({ ...base, tools }).tools).toEqual([{ name: 'f', input_schema: { type: 'object', properties: {} } }]);
  });

  it('refuses what Anthropic cannot take: bad tool arguments, n > 1, no non-system message', () => {
    const badArgs = {
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] },
      ],
    };
    expect(() => chatToAnthropicRequest(badArgs)).toThrow(IbexError);
    expect(() => chatToAnthropicRequest({ model: 'm', n: 2, messages: [{ role: 'user', content: 'hi' }] })).toThrow(/`n`/);
    const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(refusedParam(() => chatToAnthropicRequest({ ...base, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'mp3' } }))).toBe('audio');
    expect(refusedParam(() => chatToAnthropicRequest({ ...base, modalities: ['text', 'audio'] }))).toBe('modalities');
    expect(refusedParam(() => chatToAnthropicRequest({ ...base, web_search_options: {} }))).toBe('web_search_options');
    expect(refusedParam(() => chatToAnthropicRequest({ ...base, modalities: ['text'], audio: null, web_search_options: null }))).toBeNull();
    expect(() => chatToAnthropicRequest({ model: 'm', messages: [{ role: 'system', content: 'only' }] })).toThrow(IbexError);
  });

  it('refuses, naming the field, what it would otherwise drop or default: fields and parts of the wrong type', () => {
    const paramOf = (body: Record<string, unknown>) => refusedParam(() => chatToAnthropicRequest(body));
    const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
    expect(paramOf({ ...base, max_tokens: 'x' })).toBe('max_tokens');
    expect(paramOf({ ...base, max_completion_tokens: 0 })).toBe('max_completion_tokens');
    expect(paramOf({ ...base, stop: [1, 2] })).toBe('stop');
    expect(paramOf({ ...base, user: { id: 1 } })).toBe('user');
    expect(paramOf({ ...base, tools: 'x' })).toBe('tools');
    expect(paramOf({ ...base, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'weird' })).toBe('tool_choice');
    expect(paramOf({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] })).toBe('messages[0].content[0].text');
    expect(paramOf({ model: 'm', messages: [{ role: 'user', content: { a: 1 } }] })).toBe('messages[0].content');
    expect(paramOf({ model: 'm', messages: [{ role: 'system', content: 7 }, { role: 'user', content: 'hi' }] })).toBe('messages[0].content');
    // null means "not set", as in the chat API
    expect(paramOf({ ...base, max_tokens: null, stop: null, user: null, tools: null, tool_choice: null })).toBeNull();
  });

  it('structured outputs carry over both ways: a JSON schema is held to on the other side; json_object and effort are not sent', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    const chat: ChatCompletionCreateParams = {
      model: 'm',
      messages: [{ role: 'user', content: 'where?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'place', schema, strict: true } },
    };
    const wantAnthropic: MessageCreateParams['output_config'] = { format: { type: 'json_schema', schema } };
    expect(chatToAnthropicRequest(chat as unknown as Record<string, unknown>).output_config).toEqual(wantAnthropic);
    for (const type of ['text', 'json_object'] as const) {
      expect(chatToAnthropicRequest({ ...chat, response_format: { type } }).output_config).toBeUndefined();
    }
    const paramOf = (body: Record<string, unknown>) => refusedParam(() => chatToAnthropicRequest(body));
    expect(paramOf({ ...chat, response_format: { type: 'json_schema', json_schema: { name: 'place' } } })).toBe('response_format.json_schema.schema');
    expect(paramOf({ ...chat, response_format: { type: 'grammar' } })).toBe('response_format.type');
    expect(paramOf({ ...chat, response_format: 'json' })).toBe('response_format');

    const messages: MessageCreateParams = {
      model: 'm',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'where?' }],
      output_config: { effort: 'low', format: { type: 'json_schema', schema } },
    };
    const toChat = anthropicToChatRequest(messages as unknown as Record<string, unknown>);
    const wantChat: ChatCompletionCreateParams['response_format'] = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
    expect(toChat.response_format).toEqual(wantChat);
    expect(toChat).not.toHaveProperty('reasoning_effort');
    expect(anthropicToChatRequest({ ...messages, output_config: { effort: 'high' } })).not.toHaveProperty('response_format');
    expect(refusedParam(() => anthropicToChatRequest({ ...messages, output_config: { format: { type: 'json_schema' } } }))).toBe('output_config.format');
  });

  it('refuses Anthropic fields of the wrong type on the way to chat', () => {
    const paramOf = (body: Record<string, unknown>) => refusedParam(() => anthropicToChatRequest(body));
    const base = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    expect(paramOf(base)).toBeNull();
    expect(paramOf({ ...base, stop_sequences: 'x' })).toBe('stop_sequences');
    expect(paramOf({ ...base, temperature: 'hot' })).toBe('temperature');
    expect(paramOf({ ...base, metadata: 'x' })).toBe('metadata');
    expect(paramOf({ ...base, tools: 'x' })).toBe('tools');
    expect(paramOf({ ...base, tool_choice: 'x' })).toBe('tool_choice');
    expect(paramOf({ ...base, tool_choice: { type: 'weird' } })).toBe('tool_choice');
    expect(paramOf({ ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] })).toBe('messages[0].content[0].text');
  });

  it('refuses tool calls and results Anthropic could not pair: no id, no name, no tool_call_id', () => {
    const paramOf = (body: Record<string, unknown>) => refusedParam(() => chatToAnthropicRequest(body));
    const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const turn = (c: unknown, toolCallId: unknown) => ({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', tool_calls: [c] }, { role: 'tool', tool_call_id: toolCallId, content: 'ok' }],
    });
    expect(paramOf(turn(call, 'c1'))).toBeNull();
    expect(paramOf(turn({ ...call, id: undefined }, 'c1'))).toBe('messages[1].tool_calls[0].id');
    expect(paramOf(turn({ ...call, function: { arguments: '{}' } }, 'c1'))).toBe('messages[1].tool_calls[0].function.name');
    expect(paramOf(turn(call, undefined))).toBe('messages[2].tool_call_id');
    expect(paramOf(turn(null, 'c1'))).toBe('messages[1].tool_calls[0]');
    expect(paramOf({ model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', tool_calls: 'x' }] })).toBe('messages[1].tool_calls');
  });
});

// ---- OpenAI-compatible provider → Anthropic caller: the reply ----

const chatUsage: ChatCompletion['usage'] = {
  prompt_tokens: 130,
  completion_tokens: 40,
  total_tokens: 170,
  prompt_tokens_details: { cached_tokens: 100 },
};

describe('chatToAnthropicResponse', () => {
  const completion: ChatCompletion = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        logprobs: null,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: 'Checking both.',
          refusal: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
          ],
        },
      },
    ],
    usage: chatUsage,
  };

  it('is a Message with text and tool_use blocks, stop reason and usage with cache reads', () => {
    expect(chatToAnthropicResponse(completion, 'my-alias')).toEqual({
      id: 'chatcmpl-1',
      type: 'message',
      role: 'assistant',
      model: 'my-alias',
      content: [
        { type: 'text', text: 'Checking both.', citations: null },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'get_time', input: { tz: 'CET' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 40, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
    });
  });

  const finishes: [ChatCompletion.Choice['finish_reason'], string][] = [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['function_call', 'tool_use'],
  ];
  for (const [finish, stop] of finishes) {
    it(`finish_reason ${finish} → stop_reason ${stop}`, () => {
      const c = { ...completion, choices: [{ ...completion.choices[0]!, finish_reason: finish }] };
      expect(chatToAnthropicResponse(c, 'm').stop_reason).toBe(stop);
    });
  }

  it('keeps tool arguments that are not JSON as text rather than losing them', () => {
    const c = structuredClone(completion);
    (c.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments = '{"city": "Par';
    expect((chatToAnthropicResponse(c, 'm').content as { input?: unknown }[])[1]!.input).toBe('{"city": "Par');
  });
});

// ---- the streamed reply: chat chunks → Messages events ----

function chunk(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return { id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
}

/** How OpenAI streams text then two parallel tool calls, then usage (stream_options.include_usage). */
const chatChunks: ChatCompletionChunk[] = [
  chunk({ role: 'assistant', content: '', refusal: null }),
  chunk({ content: 'Checking the weather — ünïcödé 🌤' }),
  chunk({ content: ' and the time.' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '{"tz":' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: ' "CET"}' } }] }),
  chunk({}, 'tool_calls'),
  { id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini', choices: [], usage: chatUsage },
];

const chatSse = (chunks: unknown[], done = true) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + (done ? 'data: [DONE]\n\n' : '');
const CHAT_STREAM = Buffer.from(chatSse(chatChunks));

function translate(input: Buffer, step = 0, model = 'my-alias'): string {
  const t = createChatToAnthropicStream({ model });
  let out = '';
  if (step === 0) out += t.push(input);
  else for (let i = 0; i < input.length; i += step) out += t.push(input.subarray(i, i + step));
  return out + t.end();
}

function eventsOf(out: string): RawMessageStreamEvent[] {
  return out
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [ev, data] = block.split('\n');
      const parsed = JSON.parse(data!.slice('data: '.length)) as RawMessageStreamEvent;
      expect(ev).toBe(`event: ${parsed.type}`);
      return parsed;
    });
}

describe('createChatToAnthropicStream', () => {
  it('sends message_start, a text block, one block per tool call with input_json_delta, message_delta, message_stop', () => {
    const evs = eventsOf(translate(CHAT_STREAM));
    expect(evs.map((e) => e.type + ('index' in e ? `:${e.index}` : ''))).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    expect(evs[0]).toMatchObject({ message: { id: 'chatcmpl-9', model: 'my-alias', role: 'assistant', content: [] } });
    expect(evs[5]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} } });
    expect(evs[9]).toEqual({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} } });
    expect(evs[6]).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } });
    expect(evs[13]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 30, output_tokens: 40, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
    });
  });

  it('gives the same bytes however the upstream is split', () => {
    const whole = translate(CHAT_STREAM);
    for (const step of [1, 2, 7, 33]) expect(translate(CHAT_STREAM, step)).toBe(whole);
  });

  it('routes interleaved argument deltas of parallel calls to their own blocks', () => {
    const interleaved = [
      chunk({ role: 'assistant', content: null }),
      chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '{"y":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }, { index: 1, function: { arguments: '2}' } }] }),
      chunk({}, 'tool_calls'),
    ];
    const evs = eventsOf(translate(Buffer.from(chatSse(interleaved))));
    const args = (i: number) =>
      evs
        .filter((e): e is Extract<RawMessageStreamEvent, { type: 'content_block_delta' }> => e.type === 'content_block_delta' && e.index === i)
        .map((e) => (e.delta.type === 'input_json_delta' ? e.delta.partial_json : ''))
        .join('');
    expect(args(0)).toBe('{"x":1}');
    expect(args(1)).toBe('{"y":2}');
    expect(evs.filter((e) => e.type === 'content_block_start')).toHaveLength(2);
  });

  it('finishes without [DONE] when a finish_reason came, and fails when none did', () => {
    const noDone = eventsOf(translate(Buffer.from(chatSse(chatChunks.slice(0, 3).concat([chunk({}, 'length')]), false))));
    expect(noDone.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'max_tokens' } });
    expect(noDone.at(-1)).toEqual({ type: 'message_stop' });
    const cut = eventsOf(translate(Buffer.from(chatSse(chatChunks.slice(0, 3), false))));
    expect(cut.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(cut.some((e) => e.type === 'message_stop')).toBe(false);
  });

  it('an in-stream error chunk becomes an `error` event, with nothing after it', () => {
    const err = { error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' } };
    const out = translate(Buffer.from(chatSse([...chatChunks.slice(0, 2), err, ...chatChunks.slice(2)])));
    const evs = eventsOf(out);
    expect(evs.at(-1)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached' } });
    expect(evs.some((e) => e.type === 'message_stop')).toBe(false);
  });
});

// ---- the official Anthropic client reads the translated stream ----

function anthropicClientServing(body: string, chunkSize: number): Anthropic {
  const bytes = Buffer.from(body);
  return new Anthropic({
    apiKey: 'test',
    baseURL: 'http://127.0.0.1:1',
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

describe('the Anthropic client on a translated stream', () => {
  const params = { model: 'my-alias', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

  it('messages.stream(…).finalMessage() has the text, both tool_use inputs, stop reason and usage', async () => {
    const client = anthropicClientServing(translate(CHAT_STREAM), 5);
    const final = await client.messages.stream(params).finalMessage();
    expect(final.id).toBe('chatcmpl-9');
    expect(final.model).toBe('my-alias');
    expect(final.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Checking the weather — ünïcödé 🌤 and the time.' });
    expect(final.content[1]).toMatchObject({ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } });
    expect(final.content[2]).toMatchObject({ type: 'tool_use', id: 'call_2', name: 'get_time', input: { tz: 'CET' } });
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 30, output_tokens: 40, cache_read_input_tokens: 100 });
  });

  it('the client raises the translated in-stream error', async () => {
    const err = { error: { message: 'Boom upstream', type: 'server_error', code: null } };
    const client = anthropicClientServing(translate(Buffer.from(chatSse([...chatChunks.slice(0, 2), err]))), 9);
    await expect(client.messages.stream(params).finalMessage()).rejects.toThrow(/Boom upstream/);
  });

  it('a non-streamed translated reply parses as the same Message', async () => {
    const completion = {
      id: 'chatcmpl-2',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: 'Hello!', refusal: null } }],
      usage: chatUsage,
    };
    const body = JSON.stringify(chatToAnthropicResponse(completion, 'my-alias'));
    const client = new Anthropic({
      apiKey: 'test',
      baseURL: 'http://127.0.0.1:1',
      maxRetries: 0,
      fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
    });
    const msg = await client.messages.create(params);
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello!', citations: null }]);
    expect(msg.stop_reason).toBe('end_turn');
  });
});
