// POST /v1/responses as the core pipeline sees it. The directive goes first in `instructions`; the
// checkpoint stores the instructions sent as a leading system message, then the input items.
import type { InboundProtocol } from '../types.js';
import { continuedReply, parseRequest, sessionLink, type ResponsesBody } from './parse.js';
import { placeDirective } from './directive.js';
import { recordedInput, turnItems, withHistory } from './record.js';
import { summarise } from './summarise.js';
import { createReassembler } from './reassemble.js';
import { renderError, streamErrorEvent } from './errors.js';

export const openAIResponses: InboundProtocol<ResponsesBody> = {
  name: 'openai-responses',
  upstreamPath: '/responses',
  // OpenAI's feature flags (Codex CLI sends `OpenAI-Beta: responses=experimental`)
  forwardedHeaders: ['openai-beta'],
  parseRequest,
  placeDirective,
  // The caller's own prompt_cache_key wins: it knows its traffic better than a per-agent key does.
  cachePrompt: (body, key) => (body.prompt_cache_key === undefined ? { ...body, prompt_cache_key: key } : body),
  recordedMessages(body) {
    const r = recordedInput(body);
    return r.instructions ? [{ role: 'system', content: r.instructions }, ...r.input] : r.input;
  },
  sessionLink,
  continuedReply,
  turnItems,
  withHistory,
  summarise,
  createReassembler,
  renderError,
  streamErrorEvent: (e, sent) => streamErrorEvent(e, (sent?.lastSequenceNumber ?? -1) + 1),
};
