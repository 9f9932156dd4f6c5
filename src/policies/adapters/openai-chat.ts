// OpenAI Chat Completions bodies: `messages[].content` (a string or text parts), `tools[].function.name`,
// `messages[].tool_calls`, `max_completion_tokens` (or the older `max_tokens`).
import { contentText, intField, isObject, mapContent, type Json } from './content.js';
import { withoutTools, type WireAdapter } from './types.js';
import type { PolicyToolCall } from '../types.js';

const TEXT = ['text'];

export const openAIChatAdapter: WireAdapter = {
  readRequest(body) {
    const messages = [];
    const toolCalls: PolicyToolCall[] = [];
    for (const m of Array.isArray(body.messages) ? body.messages : []) {
      if (!isObject(m)) continue;
      const role = m.role === 'developer' ? 'system' : String(m.role);
      messages.push({ role, text: contentText(m.content, TEXT) });
      if (Array.isArray(m.tool_calls)) {
        for (const c of m.tool_calls) {
          if (!isObject(c) || !isObject(c.function)) continue;
          toolCalls.push({ id: String(c.id ?? ''), name: String(c.function.name ?? ''), arguments: String(c.function.arguments ?? '') });
        }
      }
    }
    const tools = (Array.isArray(body.tools) ? body.tools : [])
      .filter(isObject)
      .map((t) => ({ name: String((isObject(t.function) ? t.function.name : t.name) ?? '') }));
    return { messages, tools, toolCalls, maxTokens: intField(body.max_completion_tokens) ?? intField(body.max_tokens) };
  },

  writeRequest(body, ch) {
    if (ch.model !== undefined) body.model = ch.model;
    if (ch.maxTokens !== undefined) {
      // Write the field the caller used; a new limit goes in the current field name.
      if (body.max_tokens !== undefined && body.max_completion_tokens === undefined) body.max_tokens = ch.maxTokens;
      else body.max_completion_tokens = ch.maxTokens;
    }
    if (ch.mapText && Array.isArray(body.messages)) {
      const fn = ch.mapText;
      body.messages = body.messages.map((m: unknown) => {
        if (!isObject(m)) return m;
        const role = m.role === 'developer' ? 'system' : String(m.role);
        const content = mapContent(m.content, TEXT, (t) => fn(t, role));
        return content === m.content ? m : { ...m, content };
      });
    }
    if (ch.removeTools) body.tools = withoutTools(body.tools, ch.removeTools, (t) => (isObject(t.function) ? t.function.name : t.name));
  },

  mapReplyText(reply, fn) {
    for (const c of Array.isArray(reply.choices) ? reply.choices : []) {
      if (!isObject(c)) continue;
      // chat.completion: message.content; text_completion (legacy completions) shares this adapter: text
      if (isObject(c.message) && typeof c.message.content === 'string') c.message.content = fn(c.message.content);
      if (typeof c.text === 'string') c.text = fn(c.text);
    }
  },
};

export type { Json };
