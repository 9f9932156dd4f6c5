// Errors in the Responses API's own shapes: the JSON body of a failed request (the same as chat
// completions) and the in-band `error` event that ends a stream already under way.
import type { OpenAIErrorBody } from '../../errors.js';
import type { ProtocolErrorInput } from '../types.js';

export function renderError(e: ProtocolErrorInput): OpenAIErrorBody {
  return { error: { message: e.message, type: e.type, code: e.code, param: e.param ?? null } };
}

/**
 * The bytes of a ResponseErrorEvent (`{type:'error', code, message, param, sequence_number}`) for a
 * started stream. `sequenceNumber` should follow the last event forwarded (the reassembler's
 * lastSequenceNumber + 1); the SDK does not check it, so 0 is used when it is not known.
 */
export function streamErrorEvent(e: ProtocolErrorInput, sequenceNumber = 0): string {
  const event = { type: 'error', code: e.code, message: e.message, param: e.param ?? null, sequence_number: sequenceNumber };
  return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
}
