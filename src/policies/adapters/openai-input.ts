// The OpenAI routes that are not conversations: legacy completions (`prompt`), embeddings and
// moderations (`input`). Their text is a string or a list of strings (token arrays are left alone);
// it is seen as one user message per string.
import { intField, isObject } from './content.js';
import type { WireAdapter } from './types.js';
import { openAIChatAdapter } from './openai-chat.js';

export function openAIInputAdapter(field: 'prompt' | 'input'): WireAdapter {
  return {
    readRequest(body) {
      const v = body[field];
      const texts = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
      return { messages: texts.map((text) => ({ role: 'user', text })), tools: [], toolCalls: [], maxTokens: intField(body.max_tokens) };
    },
    writeRequest(body, ch) {
      if (ch.model !== undefined) body.model = ch.model;
      if (ch.maxTokens !== undefined && field === 'prompt') body.max_tokens = ch.maxTokens;
      const fn = ch.mapText;
      if (!fn) return;
      const v = body[field];
      if (typeof v === 'string') body[field] = fn(v, 'user');
      else if (Array.isArray(v)) body[field] = v.map((s: unknown) => (typeof s === 'string' ? fn(s, 'user') : s));
    },
    // completions: choices[].text; embeddings and moderations carry no text to rewrite
    mapReplyText(reply, fn) {
      if (isObject(reply) && Array.isArray(reply.choices)) openAIChatAdapter.mapReplyText(reply, fn);
    },
  };
}
