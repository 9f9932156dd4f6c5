// Shape checks of a chat completions body, before anything is forwarded. Only what ibex relies on is
// checked; everything else is the provider's to judge (and its 400 is passed through).
import { IbexError } from '../../errors.js';
import type { ParsedRequest } from '../types.js';

export interface ChatBody {
  model: string;
  messages: unknown[];
  stream?: boolean;
  [key: string]: unknown;
}

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

export function parseRequest(body: unknown): ParsedRequest<ChatBody> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.', 'body');
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256) {
    throw bad('`model` must be a non-empty string of at most 256 characters.', 'model');
  }
  if (!Array.isArray(b.messages)) throw bad('`messages` must be an array.', 'messages');
  if (b.messages.length === 0) throw bad('`messages` must contain at least one message.', 'messages');
  for (let i = 0; i < b.messages.length; i++) {
    const m = b.messages[i] as Record<string, unknown> | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`messages[${i}] must be an object.`, `messages[${i}]`);
    if (typeof m.role !== 'string' || m.role.length === 0) throw bad(`messages[${i}].role must be a string.`, `messages[${i}].role`);
  }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw bad('`stream` must be a boolean.', 'stream');
  return { model: b.model, stream: b.stream === true, body: b as ChatBody };
}
