// Wire shapes of the OpenAI Responses API (from openai/resources/responses/responses.d.ts):
// the Response object, its output items, and the typed event stream. Pure builders; the
// routes (openai-responses-routes.ts) add ids, the store and the request.

import type { ToolCallSpec } from './tool-trigger.js';
import { contentText } from './tool-trigger.js';
import { isObject, namedEvent, type PacedEvent } from './route.js';
import { splitContent } from './openai-shapes.js';

/** The echo: what arrived in `instructions` and `input`, so a test sees where a directive went. */
export function responseEchoText(body: Record<string, unknown>): string {
  return 'echo:' + JSON.stringify({ instructions: body.instructions ?? null, input: body.input ?? null });
}

/** The text of the last input item when it is a user message (the tool-call trigger). */
export function responsesLastUserText(input: unknown): string | undefined {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input) || input.length === 0) return undefined;
  const last = input[input.length - 1];
  if (!isObject(last) || last.role !== 'user' || (last.type !== undefined && last.type !== 'message')) return undefined;
  return contentText(last.content, ['input_text', 'text']);
}

/** The request's input as stored items (ResponseItem): ids added, easy messages made explicit. */
export function inputItems(input: unknown, newId: (prefix: string) => string): Record<string, unknown>[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') {
    return [{ id: newId('msg_'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  }
  if (!Array.isArray(input)) return [];
  return input.filter(isObject).map((item) => {
    if (item.type === undefined || item.type === 'message') {
      const role = item.role;
      const content =
        typeof item.content === 'string'
          ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: item.content }]
          : item.content;
      return { id: item.id ?? newId('msg_'), type: 'message', role, status: 'completed', content };
    }
    return { id: item.id ?? newId('item_'), status: 'completed', ...item };
  });
}

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed') {
  return {
    id,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [outputText(text)] : [],
  };
}

function outputText(text: string) {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export interface FunctionCall extends ToolCallSpec {
  id: string;
  call_id: string;
}

export function functionCallItem(c: FunctionCall, status: 'in_progress' | 'completed') {
  return { id: c.id, type: 'function_call', status, arguments: status === 'completed' ? c.arguments : '', call_id: c.call_id, name: c.name };
}

export interface ResponseUsageShape {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responseUsage(input: number, output: number, cached: number): ResponseUsageShape {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached, cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

export type ResponseStatus = 'completed' | 'in_progress' | 'queued' | 'cancelled';

/** The Response object; request parameters are reflected back the way OpenAI does. */
export function responseObject(p: {
  id: string;
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: unknown[];
  usage: ResponseUsageShape | null;
  body: Record<string, unknown>;
}): Record<string, unknown> {
  const b = p.body;
  return {
    id: p.id,
    object: 'response',
    created_at: p.createdAt,
    status: p.status,
    background: b.background === true,
    completed_at: p.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    metadata: b.metadata ?? {},
    model: p.model,
    output: p.output,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: b.reasoning ?? { effort: null, summary: null },
    service_tier: 'default',
    store: b.store ?? true,
    temperature: b.temperature ?? 1,
    text: b.text ?? { format: { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    top_p: b.top_p ?? 1,
    truncation: b.truncation ?? 'disabled',
    usage: p.usage,
    user: b.user ?? null,
  };
}

/**
 * The typed event stream of one response, in OpenAI's order: created, in_progress, then per
 * output item `output_item.added` → (text: content_part.added, output_text.delta…,
 * output_text.done, content_part.done | function call: function_call_arguments.delta…,
 * function_call_arguments.done) → `output_item.done`, and finally `response.completed`
 * carrying the usage. `sequence_number` counts from 0. Deltas are the paced events.
 */
export function responseEvents(
  inProgress: Record<string, unknown>,
  completed: Record<string, unknown>,
  output: { text?: { id: string; text: string }; calls?: FunctionCall[] },
  chunks: number,
): PacedEvent[] {
  const events: PacedEvent[] = [];
  let seq = 0;
  const push = (type: string, fields: object, delta = false) =>
    events.push({ text: namedEvent(type, { type, sequence_number: seq++, ...fields }), delta });

  push('response.created', { response: inProgress });
  push('response.in_progress', { response: inProgress });
  if (output.text) {
    const { id, text } = output.text;
    const at = { item_id: id, output_index: 0, content_index: 0 };
    push('response.output_item.added', { output_index: 0, item: messageItem(id, text, 'in_progress') });
    push('response.content_part.added', { ...at, part: outputText('') });
    for (const piece of splitContent(text, chunks)) push('response.output_text.delta', { ...at, delta: piece, logprobs: [] }, true);
    push('response.output_text.done', { ...at, text, logprobs: [] });
    push('response.content_part.done', { ...at, part: outputText(text) });
    push('response.output_item.done', { output_index: 0, item: messageItem(id, text, 'completed') });
  }
  (output.calls ?? []).forEach((c, output_index) => {
    push('response.output_item.added', { output_index, item: functionCallItem(c, 'in_progress') });
    for (const piece of splitContent(c.arguments, chunks)) {
      if (piece !== '') push('response.function_call_arguments.delta', { item_id: c.id, output_index, delta: piece }, true);
    }
    push('response.function_call_arguments.done', { item_id: c.id, output_index, name: c.name, arguments: c.arguments });
    push('response.output_item.done', { output_index, item: functionCallItem(c, 'completed') });
  });
  push('response.completed', { response: completed });
  return events;
}
