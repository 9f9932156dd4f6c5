// The directive becomes a system message placed before every message of the caller. The caller's own
// system messages are kept, after it, in their order; content parts, tool calls and tool messages pass
// through untouched.
import type { ChatBody } from './parse.js';

export function placeDirective(body: ChatBody, text: string | null): ChatBody {
  if (text === null) return body;
  return { ...body, messages: [{ role: 'system', content: text }, ...body.messages] };
}

/** What the checkpoint stores as the request's input: the messages as sent upstream. */
export function recordedInput(body: ChatBody): unknown[] {
  return body.messages;
}
