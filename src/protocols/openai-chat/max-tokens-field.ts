// The translations to chat completions put a reply-size limit (an Anthropic `max_tokens`, a Responses
// `max_output_tokens`) in OpenAI's `max_completion_tokens`, the one field its reasoning models take.
// A provider configured with `maxTokensField: max_tokens` (an OpenAI-compatible server that only reads
// the older field) gets it there instead. Only bodies ibex translated: a chat caller's own field is
// the caller's choice and goes as sent.
import type { MaxTokensField } from '../../config/types.js';

type Obj = Record<string, unknown>;

/** `body` with its `max_completion_tokens` under `field` (the same object when nothing moves; unset: max_completion_tokens). */
export function withMaxTokensField(body: Obj, field: MaxTokensField | undefined): Obj {
  if (field !== 'max_tokens' || body.max_completion_tokens === undefined) return body;
  const { max_completion_tokens: limit, ...rest } = body;
  return { ...rest, max_tokens: limit };
}
