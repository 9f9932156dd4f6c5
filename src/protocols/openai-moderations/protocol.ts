// POST /v1/moderations: `model` is optional (the provider picks its default). No directive, no checkpoint.
import type { InboundProtocol } from '../types.js';
import { parseOpenAIBody, usageOnlyFacts, type OpenAIBody } from '../openai-common.js';
import { createReassembler } from '../openai-chat/reassemble.js';
import { renderError, streamErrorEvent } from '../openai-chat/errors.js';

export const openAIModerations: InboundProtocol<OpenAIBody> = {
  name: 'openai-moderations',
  upstreamPath: '/moderations',
  parseRequest: (body) => ({ ...parseOpenAIBody(body, ['input'], true), stream: false }),
  summarise: usageOnlyFacts,
  createReassembler,
  renderError,
  streamErrorEvent,
};
