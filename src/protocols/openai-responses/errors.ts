// Errors in the Responses API's own shapes: the JSON body of a failed request (the same as chat
// completions) and the in-band `error` event that ends a stream already under way.
import type { OpenAIErrorBody } from '../../errors.js';
import type { ProtocolErrorInput } from '../types.js';

export function renderError(e: ProtocolErrorInput): OpenAIErrorBody {
  return { error: { message: e.message, type: e.type, code: e.code, param: e.param ?? null } };
}

/**
 * The bytes of a ResponseErrorEvent (`{type:'error', code, message, param, sequence_number}`) for a
 * started stream. `sequenceNumber` follows the last event forwarded (the reassembler's
 * lastSequenceNumber + 1: protocol.ts passes it); 0 when nothing was numbered yet.
 */
export function streamErrorEvent(e: ProtocolErrorInput, sequenceNumber = 0): string {
  const event = { type: 'error', code: e.code, message: e.message, param: e.param ?? null, sequence_number: sequenceNumber };
  return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
}
