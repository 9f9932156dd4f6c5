// POST /v1/messages as the core pipeline sees it. The directive goes first in `system`; the checkpoint
// stores the system blocks as a leading system message, then the messages.
import type { InboundProtocol } from '../types.js';
import { parseRequest, type MessagesBody } from './parse.js';
import { placeDirective } from './directive.js';
import { recordedInput } from './record.js';
import { summarise } from './summarise.js';
import { createReassembler } from './reassemble.js';
import { renderError, streamErrorEvent } from './errors.js';

export const anthropicMessages: InboundProtocol<MessagesBody> = {
  name: 'anthropic-messages',
  // Under an OpenAI-style base this protocol has no path: only `anthropic` providers take it as it is,
  // and their kind maps every Messages call to /v1/messages.
  upstreamPath: '/messages',
  // Beta features (1M context, interleaved thinking, fine-grained tool streaming, computer use…)
  forwardedHeaders: ['anthropic-beta'],
  parseRequest,
  placeDirective: (body, text) => placeDirective(body, text),
  recordedMessages(body) {
    const r = recordedInput(body);
    return r.system === null ? r.messages : [{ role: 'system', content: r.system }, ...r.messages];
  },
  summarise,
  createReassembler,
  renderError,
  streamErrorEvent,
};
