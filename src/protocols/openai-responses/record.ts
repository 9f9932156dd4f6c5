// What a checkpoint stores of a Responses request: the instructions as sent (directive included) and
// the input as a list of items. The output items and usage come from the reply (summarise / the
// reassembler), so a checkpoint holds the whole turn even though the provider keeps the context.
import type { ReplyFacts, TurnItems } from '../types.js';
import type { ResponsesBody } from './parse.js';

export interface RecordedResponsesInput {
  instructions: string | null;
  input: unknown[];
}

/**
 * The recorded input of a (directive-placed) body. A string `input` becomes one user message item
 * (`{type:'message', role:'user', content: <the string>}`, the text kept verbatim); an absent input
 * (a turn that only continues `previous_response_id`) becomes [].
 */
export function recordedInput(body: ResponsesBody): RecordedResponsesInput {
  const instructions = typeof body.instructions === 'string' ? body.instructions : null;
  if (typeof body.input === 'string') return { instructions, input: [{ type: 'message', role: 'user', content: body.input }] };
  return { instructions, input: Array.isArray(body.input) ? body.input : [] };
}

/**
 * One turn as a later turn's history: its input items, then the reply as output items (its text as
 * an assistant message, each tool call as a function_call), as OpenAI lists a stored response's
 * conversation. null when the caller set `store: false` (a continuation of it is refused, as OpenAI does).
 */
export function turnItems(body: ResponsesBody, reply: Pick<ReplyFacts, 'text' | 'toolCalls'>): TurnItems | null {
  if (body.store === false) return null;
  const output: unknown[] = [];
  if (reply.text) output.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: reply.text }] });
  for (const call of reply.toolCalls) output.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments });
  return { input: recordedInput(body).input, output };
}

/** The body continuing its earlier turns by value: `history` then its own input, no `previous_response_id`. */
export function withHistory(body: ResponsesBody, history: unknown[]): ResponsesBody {
  const { previous_response_id: _continued, ...rest } = body;
  return { ...rest, input: [...history, ...recordedInput(body).input] as Record<string, unknown>[] };
}
