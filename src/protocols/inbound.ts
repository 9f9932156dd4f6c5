// Every inbound protocol, once: the gateway serves each at `/v1` + its upstreamPath (the provider's
// own path for it: OpenAI's routes and Anthropic's Messages), and the ledger finds a recorded turn's
// route from the protocol name its checkpoint keeps.
import type { InboundProtocol } from './types.js';
import { openAIChat } from './openai-chat/protocol.js';
import { openAIResponses } from './openai-responses/protocol.js';
import { openAIEmbeddings } from './openai-embeddings/protocol.js';
import { openAICompletions } from './openai-completions/protocol.js';
import { openAIModerations } from './openai-moderations/protocol.js';
import { anthropicMessages } from './anthropic-messages/protocol.js';

export const INBOUND_PROTOCOLS: readonly InboundProtocol<never>[] = [
  openAIChat as InboundProtocol<never>,
  openAIResponses as InboundProtocol<never>,
  openAIEmbeddings as InboundProtocol<never>,
  openAICompletions as InboundProtocol<never>,
  openAIModerations as InboundProtocol<never>,
  anthropicMessages as InboundProtocol<never>,
];

/** The gateway route a protocol is served on (`/v1/chat/completions`, `/v1/messages`, …). */
export function routeOfProtocol(p: { upstreamPath: string }): string {
  return '/v1' + p.upstreamPath;
}

/** The protocol of that name (`openai-chat`, `anthropic-messages`, …); undefined for an unknown one. */
export function inboundProtocol(name: string): InboundProtocol<never> | undefined {
  return INBOUND_PROTOCOLS.find((p) => p.name === name);
}
