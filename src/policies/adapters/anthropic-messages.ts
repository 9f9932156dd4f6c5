// Anthropic Messages bodies: `system` (a string or text blocks), `messages[].content` (a string or
// blocks: text, tool_use, tool_result), `tools[].name`, `max_tokens`.
import { contentText, intField, isObject, mapContent, type Json } from './content.js';
import { withoutTools, type WireAdapter } from './types.js';
import type { PolicyMessage, PolicyToolCall } from '../types.js';

const TEXT = ['text'];

export const anthropicMessagesAdapter: WireAdapter = {
  readRequest(body) {
    const messages: PolicyMessage[] = [];
    const toolCalls: PolicyToolCall[] = [];
    if (body.system !== undefined) messages.push({ role: 'system', text: contentText(body.system, TEXT) });
    for (const m of Array.isArray(body.messages) ? body.messages : []) {
      if (!isObject(m)) continue;
      messages.push({ role: String(m.role), text: contentText(m.content, TEXT) });
      if (!Array.isArray(m.content)) continue;
      for (const b of m.content) {
        if (!isObject(b)) continue;
        if (b.type === 'tool_use') toolCalls.push({ id: String(b.id ?? ''), name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) });
        else if (b.type === 'tool_result') messages.push({ role: 'tool', text: contentText(b.content, TEXT) });
      }
    }
    const tools = (Array.isArray(body.tools) ? body.tools : []).filter(isObject).map((t) => ({ name: String(t.name ?? '') }));
    return { messages, tools, toolCalls, maxTokens: intField(body.max_tokens) };
  },

  writeRequest(body, ch) {
    if (ch.model !== undefined) body.model = ch.model;
    if (ch.maxTokens !== undefined) body.max_tokens = ch.maxTokens;
    const fn = ch.mapText;
    if (fn) {
      if (body.system !== undefined) body.system = mapContent(body.system, TEXT, (t) => fn(t, 'system'));
      if (Array.isArray(body.messages)) {
        body.messages = body.messages.map((m: unknown) => {
          if (!isObject(m)) return m;
          const role = String(m.role);
          let content = mapContent(m.content, TEXT, (t) => fn(t, role));
          // tool results carry text the model will read: rewritten too
          if (Array.isArray(content)) {
            content = content.map((b: unknown) =>
              isObject(b) && b.type === 'tool_result' && b.content !== undefined ? { ...b, content: mapContent(b.content, TEXT, (t) => fn(t, 'tool')) } : b,
            );
          }
          return { ...m, content };
        });
      }
    }
    if (ch.removeTools) body.tools = withoutTools(body.tools, ch.removeTools, (t) => t.name);
  },

  mapReplyText(reply, fn) {
    for (const b of Array.isArray(reply.content) ? reply.content : []) if (isObject(b) && b.type === 'text' && typeof b.text === 'string') b.text = fn(b.text);
  },
};

export type { Json };
