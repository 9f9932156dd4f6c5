// System prompt injection (seed milestone 2.3.3): the agent's directive becomes a system message placed
// before every message of the caller. The caller's own system messages are kept, after it, in their
// order; content given as parts arrays, tool calls and tool messages are passed through untouched.
import type { Directive } from '../stores/ports.js';

export function injectDirective(messages: unknown[], directive: Directive | null): unknown[] {
  if (!directive) return messages;
  return [{ role: 'system', content: directive.text }, ...messages];
}
