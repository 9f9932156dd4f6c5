// Errors in OpenAI's shape `{error:{message,type,code,param}}`, for chat completions and every other
// OpenAI route.
import type { ProtocolErrorInput } from '../types.js';

export interface OpenAIErrorShape {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export function renderError(e: ProtocolErrorInput): OpenAIErrorShape {
  return { error: { message: e.message, type: e.type, code: e.code, param: e.param ?? null } };
}

/** A started chat stream ends with the error as one more `data:` event, the shape OpenAI clients raise. */
export function streamErrorEvent(e: ProtocolErrorInput): string {
  return `data: ${JSON.stringify(renderError(e))}\n\n`;
}
