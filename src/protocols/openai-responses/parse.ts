// Shape checks of a Responses API body (POST /v1/responses), before anything is forwarded. Only what
// ibex itself relies on is checked (routing, streaming, the directive, session linking, recording);
// everything else is the provider's to judge, and its 400 is passed through.
import { IbexError } from '../../errors.js';
import type { ParsedRequest } from '../types.js';

/** The fields of a Responses body ibex reads; every other field passes through untouched. */
export interface ResponsesBody {
  model: string;
  /** A string is one user message; an array holds input items (messages, function calls and outputs…) */
  input?: string | Record<string, unknown>[];
  instructions?: string | null;
  stream?: boolean | null;
  previous_response_id?: string | null;
  conversation?: string | { id: string } | null;
  [key: string]: unknown;
}

const MAX_MODEL_CHARS = 256;

const bad = (message: string, param: string) => new IbexError('IBEX_ERR_INVALID_REQUEST', { message, param });

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates a Responses body. `null` is accepted wherever the SDK types allow it (`instructions`,
 * `stream`, `previous_response_id`, `conversation`) and means "not set".
 */
export function parseRequest(body: unknown): ParsedRequest<ResponsesBody> {
  if (!isObject(body)) throw bad('The request body must be a JSON object.', 'body');
  if (typeof body.model !== 'string' || body.model.length === 0 || body.model.length > MAX_MODEL_CHARS) {
    throw bad(`\`model\` must be a non-empty string of at most ${MAX_MODEL_CHARS} characters.`, 'model');
  }
  if (body.input !== undefined) {
    if (Array.isArray(body.input)) {
      body.input.forEach((item, i) => {
        if (!isObject(item)) throw bad(`input[${i}] must be an object (an input item).`, `input[${i}]`);
      });
    } else if (typeof body.input !== 'string') {
      throw bad('`input` must be a string or an array of input items.', 'input');
    }
  }
  if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== 'string') {
    throw bad('`instructions` must be a string or null.', 'instructions');
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw bad('`stream` must be a boolean.', 'stream');
  }
  const prev = body.previous_response_id;
  if (prev !== undefined && prev !== null && (typeof prev !== 'string' || prev.length === 0)) {
    throw bad('`previous_response_id` must be a non-empty string.', 'previous_response_id');
  }
  const conv = body.conversation;
  if (conv !== undefined && conv !== null) {
    const ok = (typeof conv === 'string' && conv.length > 0) || (isObject(conv) && typeof conv.id === 'string' && conv.id.length > 0);
    if (!ok) throw bad('`conversation` must be a conversation id or an object with a string `id`.', 'conversation');
  }
  return { model: body.model, stream: body.stream === true, body: body as ResponsesBody };
}

/** `previous_response_id` when set (InboundProtocol.continuedReply). Assumes the body passed parseRequest. */
export function continuedReply(body: ResponsesBody): string | null {
  return typeof body.previous_response_id === 'string' && body.previous_response_id !== '' ? body.previous_response_id : null;
}

/**
 * The id that links this request to an earlier one, used to find the ibex session when the caller
 * sends no X-Ibex-Session: `previous_response_id` (a `resp_…` ibex recorded on a checkpoint) or else
 * the `conversation` id (`conv_…`, given as a string or as `{ id }`). null when neither is set.
 * Assumes the body passed parseRequest.
 */
export function sessionLink(body: ResponsesBody): string | null {
  const reply = continuedReply(body);
  if (reply !== null) return reply;
  const conv = body.conversation;
  if (typeof conv === 'string' && conv !== '') return conv;
  if (isObject(conv) && typeof conv.id === 'string' && conv.id !== '') return conv.id;
  return null;
}
