// What the session checkpoint stores as a Messages request's input: the system prompt and the
// messages as they were sent upstream (directive included), the same pair the Anthropic mock echoes.
import type { Json } from './wire.js';

export interface RecordedInput {
  system: unknown;
  messages: unknown[];
}

export function recordedInput(body: Json): RecordedInput {
  return {
    system: body.system ?? null,
    messages: Array.isArray(body.messages) ? body.messages : [],
  };
}
