// The adapter of each inbound protocol, by the protocol's name (InboundProtocol.name).
import type { WireAdapter } from './types.js';
import { openAIChatAdapter } from './openai-chat.js';
import { openAIResponsesAdapter } from './openai-responses.js';
import { anthropicMessagesAdapter } from './anthropic-messages.js';
import { openAIInputAdapter } from './openai-input.js';

const ADAPTERS: Record<string, WireAdapter> = {
  'openai-chat': openAIChatAdapter,
  'openai-responses': openAIResponsesAdapter,
  'anthropic-messages': anthropicMessagesAdapter,
  'openai-completions': openAIInputAdapter('prompt'),
  'openai-embeddings': openAIInputAdapter('input'),
  'openai-moderations': openAIInputAdapter('input'),
};

/** The adapter for a protocol name; undefined for a protocol policies do not know (then they are skipped). */
export function adapterFor(protocol: string): WireAdapter | undefined {
  return ADAPTERS[protocol];
}

export type { WireAdapter, RequestParts } from './types.js';

