// POST /v1/chat/completions as the core pipeline sees it.
import type { InboundProtocol } from '../types.js';
import { parseRequest, type ChatBody } from './parse.js';
import { placeDirective, recordedInput } from './directive.js';
import { summarise } from './summarise.js';
import { createReassembler } from './reassemble.js';
import { renderError, streamErrorEvent } from './errors.js';
import { prepareUpstream } from './stream-usage.js';

export const openAIChat: InboundProtocol<ChatBody> = {
  name: 'openai-chat',
  upstreamPath: '/chat/completions',
  parseRequest,
  placeDirective,
  recordedMessages: recordedInput,
  prepareUpstream,
  summarise,
  createReassembler,
  renderError,
  streamErrorEvent,
};
