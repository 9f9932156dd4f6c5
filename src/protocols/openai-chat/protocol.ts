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
  // OpenAI's feature flags, for an OpenAI-compatible provider that reads them
  forwardedHeaders: ['openai-beta'],
  parseRequest,
  placeDirective,
  // The caller's own prompt_cache_key wins: it knows its traffic better than a per-agent key does.
  cachePrompt: (body, key) => (body.prompt_cache_key === undefined ? { ...body, prompt_cache_key: key } : body),
  recordedMessages: recordedInput,
  prepareUpstream,
  summarise,
  createReassembler,
  renderError,
  streamErrorEvent,
};
