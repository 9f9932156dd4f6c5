// ReplyFacts of a complete (non-streamed) chat completion.
import type { CanonicalToolCall, ReplyFacts } from '../types.js';
import { usageFromOpenAI, type RawUsage } from './usage.js';

interface Completion {
  id?: unknown;
  choices?: { message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: string | null }[];
  usage?: RawUsage;
  error?: { message?: unknown };
}

export function summarise(json: unknown): ReplyFacts {
  const v = (json && typeof json === 'object' ? json : {}) as Completion;
  const choice = v.choices?.[0];
  const content = choice?.message?.content;
  return {
    text: typeof content === 'string' ? content : null,
    toolCalls: toolCallsOf(choice?.message?.tool_calls),
    finishReason: choice?.finish_reason ?? null,
    usage: usageFromOpenAI(v.usage),
    streamError: v.error && typeof v.error.message === 'string' ? v.error.message : null,
    completed: true,
    responseId: typeof v.id === 'string' ? v.id : null,
  };
}

function toolCallsOf(calls: unknown): CanonicalToolCall[] {
  if (!Array.isArray(calls)) return [];
  const out: CanonicalToolCall[] = [];
  for (const c of calls as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) {
    if (!c || typeof c !== 'object') continue;
    out.push({
      id: typeof c.id === 'string' ? c.id : '',
      name: typeof c.function?.name === 'string' ? c.function.name : '',
      arguments: typeof c.function?.arguments === 'string' ? c.function.arguments : '',
    });
  }
  return out;
}
