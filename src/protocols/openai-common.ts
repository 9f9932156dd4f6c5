// Pieces shared by the OpenAI protocols that are not conversations (embeddings, legacy completions,
// moderations): the body must be an object with a string `model`, errors are OpenAI-shaped.
import { IbexError } from '../errors.js';
import type { ParsedRequest, ReplyFacts } from './types.js';
import { usageFromOpenAI, type RawUsage } from './openai-chat/usage.js';

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

export type OpenAIBody = Record<string, unknown> & { model?: string; stream?: boolean };

/**
 * An object body; `model` a non-empty string (or absent when `modelOptional`); `required` fields
 * present; `stream` boolean if present.
 */
export function parseOpenAIBody(body: unknown, required: string[], modelOptional = false): ParsedRequest<OpenAIBody> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.', 'body');
  const b = body as OpenAIBody;
  if (!(modelOptional && b.model === undefined) && (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256)) {
    throw bad('`model` must be a non-empty string of at most 256 characters.', 'model');
  }
  for (const f of required) if (b[f] === undefined || b[f] === null) throw bad(`\`${f}\` is required.`, f);
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw bad('`stream` must be a boolean.', 'stream');
  return { model: typeof b.model === 'string' ? b.model : '', stream: b.stream === true, body: b };
}

/** Facts of a reply that has no assistant text worth recording (embeddings, moderations): usage only. */
export function usageOnlyFacts(json: unknown): ReplyFacts {
  const v = (json && typeof json === 'object' ? json : {}) as { id?: unknown; usage?: RawUsage };
  return { text: null, toolCalls: [], finishReason: null, usage: usageFromOpenAI(v.usage), streamError: null, completed: true, responseId: typeof v.id === 'string' ? v.id : null };
}
