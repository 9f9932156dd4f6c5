// Fixtures for the Responses protocol tests, typed with the official SDK's types so their shape is the
// API's, not a memory of it.
import type {
  Response as ApiResponse,
  ResponseStreamEvent,
  ResponseCreateParamsNonStreaming,
} from 'openai/resources/responses/responses';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';

export const USAGE: ApiResponse['usage'] = {
  input_tokens: 1200,
  input_tokens_details: { cached_tokens: 1024, cache_write_tokens: 0 },
  output_tokens: 340,
  output_tokens_details: { reasoning_tokens: 256 },
  total_tokens: 1540,
};

/** A response with reasoning, a message of two text parts (one multi-byte) and two function calls. */
export function fullResponse(over: Partial<ApiResponse> = {}): ApiResponse {
  return {
    id: 'resp_0123abc',
    object: 'response',
    created_at: 1_760_000_000,
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: 'Be brief.',
    metadata: {},
    model: 'gpt-4.1-mini-2025-04-14',
    output_text: '',
    output: [
      { type: 'reasoning', id: 'rs_1', summary: [], status: 'completed' },
      {
        type: 'message',
        id: 'msg_1',
        role: 'assistant',
        status: 'completed',
        content: [
          { type: 'output_text', text: 'Héllo, wörld 🌍. ', annotations: [], logprobs: [] },
          { type: 'output_text', text: 'Checking the weather.', annotations: [], logprobs: [] },
        ],
      },
      { type: 'function_call', id: 'fc_1', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
      { type: 'function_call', id: 'fc_2', call_id: 'call_tokyo', name: 'get_weather', arguments: '{"city":"東京"}', status: 'completed' },
    ],
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    usage: USAGE,
    ...over,
  };
}

type NoSeq<T> = T extends unknown ? Omit<T, 'sequence_number'> : never;

export const FULL_TEXT = 'Héllo, wörld 🌍. Checking the weather.';

/** The event stream OpenAI sends for fullResponse(), in the API's order. */
export function fullEvents(terminal: 'response.completed' | 'response.incomplete' | 'response.failed' | null = 'response.completed'): ResponseStreamEvent[] {
  const final = fullResponse();
  const start = { ...final, status: 'in_progress' as const, output: [], usage: undefined };
  const [reasoning, message, call1, call2] = final.output as [any, any, any, any];
  const ev: NoSeq<ResponseStreamEvent>[] = [
    { type: 'response.created', response: start },
    { type: 'response.in_progress', response: start },
    { type: 'response.output_item.added', output_index: 0, item: { ...reasoning, status: 'in_progress' } },
    { type: 'response.output_item.done', output_index: 0, item: reasoning },
    { type: 'response.output_item.added', output_index: 1, item: { ...message, status: 'in_progress', content: [] } },
    { type: 'response.content_part.added', item_id: 'msg_1', output_index: 1, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'Héllo, ', logprobs: [] },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'wörld 🌍. ', logprobs: [] },
    { type: 'response.output_text.done', item_id: 'msg_1', output_index: 1, content_index: 0, text: 'Héllo, wörld 🌍. ', logprobs: [] },
    { type: 'response.content_part.done', item_id: 'msg_1', output_index: 1, content_index: 0, part: message.content[0] },
    { type: 'response.content_part.added', item_id: 'msg_1', output_index: 1, content_index: 1, part: { type: 'output_text', text: '', annotations: [] } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 1, delta: 'Checking the weather.', logprobs: [] },
    { type: 'response.output_text.done', item_id: 'msg_1', output_index: 1, content_index: 1, text: 'Checking the weather.', logprobs: [] },
    { type: 'response.content_part.done', item_id: 'msg_1', output_index: 1, content_index: 1, part: message.content[1] },
    { type: 'response.output_item.done', output_index: 1, item: message },
    { type: 'response.output_item.added', output_index: 2, item: { ...call1, arguments: '', status: 'in_progress' } },
    { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 2, delta: '{"city":' },
    { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 2, delta: '"Paris"}' },
    { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 2, name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'response.output_item.done', output_index: 2, item: call1 },
    { type: 'response.output_item.added', output_index: 3, item: { ...call2, arguments: '', status: 'in_progress' } },
    { type: 'response.function_call_arguments.delta', item_id: 'fc_2', output_index: 3, delta: '{"city":"東京"}' },
    { type: 'response.function_call_arguments.done', item_id: 'fc_2', output_index: 3, name: 'get_weather', arguments: '{"city":"東京"}' },
    { type: 'response.output_item.done', output_index: 3, item: call2 },
  ];
  if (terminal === 'response.completed') ev.push({ type: terminal, response: final });
  if (terminal === 'response.incomplete') ev.push({ type: terminal, response: { ...final, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  if (terminal === 'response.failed') ev.push({ type: terminal, response: { ...final, status: 'failed', error: { code: 'server_error', message: 'The model crashed.' } } });
  return ev.map((e, i) => ({ ...e, sequence_number: i }) as ResponseStreamEvent);
}

/** SSE bytes as OpenAI frames them: `event: <type>` then `data: <json>`, a blank line after each. */
export function sse(events: readonly { type: string }[]): Buffer {
  return Buffer.from(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''), 'utf8');
}

export const REQUEST: ResponseCreateParamsNonStreaming = {
  model: 'claude-sonnet',
  instructions: 'Answer in French.',
  input: [
    { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }, { type: 'input_image', image_url: 'https://x.test/p.png', detail: 'low' }] },
    { type: 'reasoning', id: 'rs_9', summary: [] },
    { type: 'message', id: 'msg_9', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }] },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_1', output: '{"c":21}' },
    { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '14:00' }] },
    { role: 'developer', content: 'Use metric units.' },
  ],
  tools: [{ type: 'function', name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
  tool_choice: { type: 'function', name: 'get_weather' },
  max_output_tokens: 500,
  temperature: 0.2,
  top_p: 0.9,
  parallel_tool_calls: false,
  text: { format: { type: 'json_schema', name: 'weather', schema: { type: 'object' }, strict: true } },
};

export const CHAT_COMPLETION: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_760_000_100,
  model: 'claude-sonnet-4-5',
  choices: [
    {
      index: 0,
      finish_reason: 'tool_calls',
      logprobs: null,
      message: {
        role: 'assistant',
        content: 'Il fait beau.',
        refusal: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
        ],
      },
    },
  ],
  usage: { prompt_tokens: 90, completion_tokens: 30, total_tokens: 120, prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 8 } },
};

/** The same reply as CHAT_COMPLETION, streamed as OpenAI streams it (usage in its own last chunk). */
export function chatChunks(finishReason: 'tool_calls' | 'length' | 'stop' = 'tool_calls'): ChatCompletionChunk[] {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1_760_000_100, model: 'claude-sonnet-4-5' };
  const delta = (d: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
    ...base,
    choices: [{ index: 0, delta: d, finish_reason: finish, logprobs: null }],
  });
  return [
    delta({ role: 'assistant', content: '' }),
    delta({ content: 'Il fait ' }),
    delta({ content: 'beau.' }),
    delta({ tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
    delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
    delta({ tool_calls: [{ index: 1, id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } }] }),
    delta({}, finishReason),
    { ...base, choices: [], usage: CHAT_COMPLETION.usage },
  ];
}

export function chatSse(chunks: readonly object[], done = true): Buffer {
  return Buffer.from(chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + (done ? 'data: [DONE]\n\n' : ''), 'utf8');
}

/** Splits a buffer into pieces of the given sizes (cycled), to push a stream the way a socket might. */
export function pieces(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}
