// POST /v1/embeddings: float or base64 vectors, passed through as they come. No directive (there is
// no instruction to place) and no checkpoint (not a conversation turn); traced with its usage.
import type { InboundProtocol } from '../types.js';
import { parseOpenAIBody, usageOnlyFacts, type OpenAIBody } from '../openai-common.js';
import { createReassembler } from '../openai-chat/reassemble.js';
import { renderError, streamErrorEvent } from '../openai-chat/errors.js';

export const openAIEmbeddings: InboundProtocol<OpenAIBody> = {
  name: 'openai-embeddings',
  upstreamPath: '/embeddings',
  parseRequest: (body) => ({ ...parseOpenAIBody(body, ['input']), stream: false }),
  summarise: usageOnlyFacts,
  createReassembler,
  renderError,
  streamErrorEvent,
};
