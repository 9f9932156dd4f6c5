// ReplyFacts of a complete (non-streamed) Messages reply.
import type { CanonicalToolCall, ReplyFacts } from '../types.js';
import { usageFromAnthropic } from './usage.js';
import { isObject, type AnthropicMessage } from './wire.js';

export function summarise(json: unknown): ReplyFacts {
  const facts: ReplyFacts = {
    text: null,
    toolCalls: [],
    finishReason: null,
    usage: null,
    streamError: null,
    completed: false,
    responseId: null,
  };
  if (!isObject(json)) return facts;
  // An error body (`{type:'error', error:{…}}`) where a Message was expected.
  if (json.type === 'error') {
    const err = isObject(json.error) ? json.error : {};
    facts.streamError = typeof err.message === 'string' ? err.message : 'error';
    return facts;
  }
  const m = json as AnthropicMessage;
  const texts: string[] = [];
  for (const block of Array.isArray(m.content) ? m.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_use') facts.toolCalls.push(toolCall(block));
  }
  facts.text = texts.length > 0 ? texts.join('') : null;
  facts.finishReason = typeof m.stop_reason === 'string' ? m.stop_reason : null;
  facts.usage = usageFromAnthropic(m.usage);
  facts.responseId = typeof m.id === 'string' ? m.id : null;
  facts.completed = true;
  return facts;
}

function toolCall(block: Record<string, unknown>): CanonicalToolCall {
  return {
    id: typeof block.id === 'string' ? block.id : '',
    name: typeof block.name === 'string' ? block.name : '',
    arguments: JSON.stringify(block.input ?? {}),
  };
}
