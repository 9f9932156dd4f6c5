// Shape checks of an inbound `POST /v1/messages` (and count_tokens) body. Only what ibex relies on is
// checked (model for routing, messages and system for the directive and the checkpoint, stream for the
// reply path, max_tokens because the API requires it and translation forwards it, tool blocks' ids
// and names because translation pairs calls with results by them); every other field is the
// provider's to judge, and its 400 is passed through.
import { IbexError } from '../../errors.js';
import type { ParsedRequest } from '../types.js';
import { isObject, type Json } from './wire.js';

export interface MessagesBody extends Json {
  model: string;
  messages: Json[];
  max_tokens: number;
  system?: string | Json[];
  stream?: boolean;
}

export type CountTokensBody = Omit<MessagesBody, 'max_tokens' | 'stream'>;

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

// `system` in messages: the current API (and SDK's MessageParam) accepts system turns there too.
const ROLES = new Set(['user', 'assistant', 'system']);

export function parseRequest(body: unknown): ParsedRequest<MessagesBody> {
  const b = checkCommon(body);
  if (!Number.isSafeInteger(b.max_tokens) || (b.max_tokens as number) < 1) {
    throw bad('`max_tokens` is required and must be a positive integer.', 'max_tokens');
  }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw bad('`stream` must be a boolean.', 'stream');
  return { model: b.model as string, stream: b.stream === true, body: b as MessagesBody };
}

/** `POST /v1/messages/count_tokens`: the same body without max_tokens, never streamed. */
export function parseCountTokensRequest(body: unknown): ParsedRequest<CountTokensBody> {
  const b = checkCommon(body);
  return { model: b.model as string, stream: false, body: b as CountTokensBody };
}

function checkCommon(body: unknown): Json {
  if (!isObject(body)) throw bad('The request body must be a JSON object.', 'body');
  const b = body;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256) {
    throw bad('`model` must be a non-empty string of at most 256 characters.', 'model');
  }
  if (!Array.isArray(b.messages)) throw bad('`messages` must be an array.', 'messages');
  if (b.messages.length === 0) throw bad('`messages` must contain at least one message.', 'messages');
  for (let i = 0; i < b.messages.length; i++) {
    const m: unknown = b.messages[i];
    if (!isObject(m)) throw bad(`messages[${i}] must be an object.`, `messages[${i}]`);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      throw bad(`messages[${i}].role must be "user" or "assistant" (or "system").`, `messages[${i}].role`);
    }
    if (typeof m.content !== 'string' && !(Array.isArray(m.content) && m.content.every(isObject))) {
      throw bad(`messages[${i}].content must be a string or an array of content blocks.`, `messages[${i}].content`);
    }
    if (Array.isArray(m.content)) checkToolBlocks(m.content as Json[], i);
  }
  if (b.system !== undefined) checkSystem(b.system);
  return b;
}

/**
 * Tool calls and their results are paired by id, and translation to another provider's wire
 * relies on the pairing (and the tool's name), so a block without them is refused here, in
 * Anthropic's words, rather than by a provider that names fields the caller never sent.
 */
function checkToolBlocks(blocks: Json[], i: number): void {
  for (let j = 0; j < blocks.length; j++) {
    const b = blocks[j]!;
    const at = `messages[${i}].content[${j}]`;
    if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || b.id.length === 0) throw bad(`${at}.id must be a non-empty string (the tool call's id).`, `${at}.id`);
      if (typeof b.name !== 'string' || b.name.length === 0) throw bad(`${at}.name must be a non-empty string (the tool's name).`, `${at}.name`);
    } else if (b.type === 'tool_result' && (typeof b.tool_use_id !== 'string' || b.tool_use_id.length === 0)) {
      throw bad(`${at}.tool_use_id must be a non-empty string (the id of the tool_use it answers).`, `${at}.tool_use_id`);
    }
  }
}

function checkSystem(system: unknown): void {
  if (typeof system === 'string') return;
  if (!Array.isArray(system)) throw bad('`system` must be a string or an array of text blocks.', 'system');
  for (let i = 0; i < system.length; i++) {
    const block: unknown = system[i];
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') {
      throw bad(`system[${i}] must be a text block ({"type":"text","text":…}).`, `system[${i}]`);
    }
  }
}
