// OpenAI Responses bodies: `instructions` (system), `input` (a string, or items: messages with string
// or `input_text`/`output_text` parts, `function_call` items), `tools[].name`, `max_output_tokens`.
import { contentText, intField, isObject, mapContent, type Json } from './content.js';
import { withoutTools, type WireAdapter } from './types.js';
import type { PolicyMessage, PolicyToolCall } from '../types.js';

const TEXT = ['input_text', 'output_text', 'text'];

export const openAIResponsesAdapter: WireAdapter = {
  readRequest(body) {
    const messages: PolicyMessage[] = [];
    const toolCalls: PolicyToolCall[] = [];
    if (typeof body.instructions === 'string') messages.push({ role: 'system', text: body.instructions });
    if (typeof body.input === 'string') messages.push({ role: 'user', text: body.input });
    else if (Array.isArray(body.input)) {
      for (const item of body.input) {
        if (!isObject(item)) continue;
        if (item.type === 'function_call') {
          toolCalls.push({ id: String(item.call_id ?? item.id ?? ''), name: String(item.name ?? ''), arguments: String(item.arguments ?? '') });
        } else if (item.type === 'function_call_output') {
          messages.push({ role: 'tool', text: typeof item.output === 'string' ? item.output : contentText(item.output, TEXT) });
        } else if (typeof item.role === 'string') {
          messages.push({ role: item.role === 'developer' ? 'system' : item.role, text: contentText(item.content, TEXT) });
        }
      }
    }
    const tools = (Array.isArray(body.tools) ? body.tools : []).filter(isObject).map((t) => ({ name: String(t.name ?? t.type ?? '') }));
    return { messages, tools, toolCalls, maxTokens: intField(body.max_output_tokens) };
  },

  writeRequest(body, ch) {
    if (ch.model !== undefined) body.model = ch.model;
    if (ch.maxTokens !== undefined) body.max_output_tokens = ch.maxTokens;
    const fn = ch.mapText;
    if (fn) {
      if (typeof body.instructions === 'string') body.instructions = fn(body.instructions, 'system');
      if (typeof body.input === 'string') body.input = fn(body.input, 'user');
      else if (Array.isArray(body.input)) {
        body.input = body.input.map((item: unknown) => {
          if (!isObject(item)) return item;
          if (item.type === 'function_call_output' && typeof item.output === 'string') return { ...item, output: fn(item.output, 'tool') };
          if (typeof item.role !== 'string') return item;
          const role = item.role === 'developer' ? 'system' : item.role;
          const content = mapContent(item.content, TEXT, (t) => fn(t, role));
          return content === item.content ? item : { ...item, content };
        });
      }
    }
    if (ch.removeTools) body.tools = withoutTools(body.tools, ch.removeTools, (t) => t.name);
  },

  mapReplyText(reply, fn) {
    mapResponseOutput(reply, fn);
  },
};

/** Rewrites the `output_text` parts of a `response` object (also inside a streamed `response.completed`). */
export function mapResponseOutput(response: Json, fn: (text: string) => string): void {
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isObject(item) || !Array.isArray(item.content)) continue;
    for (const part of item.content) if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') part.text = fn(part.text);
  }
  if (typeof response.output_text === 'string') response.output_text = fn(response.output_text);
}

export type { Json };
