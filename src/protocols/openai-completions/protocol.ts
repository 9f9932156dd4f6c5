// POST /v1/completions (legacy text completions). The directive is NOT placed: a legacy prompt is raw
// text continued by the model, with no system role to put instructions in, and prepending text would
// change what the caller asked the model to continue (docs/directives-and-sessions.md says so). The
// prompt is recorded as one user message so the session ledger still shows the turn.
import type { InboundProtocol, ReplyFacts } from '../types.js';
import { parseOpenAIBody, type OpenAIBody } from '../openai-common.js';
import { usageFromOpenAI, type RawUsage } from '../openai-chat/usage.js';
import { boundedSseCopy, sseDataEvents } from '../openai-chat/reassemble.js';
import { renderError, streamErrorEvent } from '../openai-chat/errors.js';

interface CompletionLike {
  id?: unknown;
  choices?: { text?: unknown; finish_reason?: string | null }[];
  usage?: RawUsage | null;
  error?: { message?: unknown };
}

function facts(events: CompletionLike[], completed: boolean): ReplyFacts {
  let text = '';
  let finishReason: string | null = null;
  let usage: ReplyFacts['usage'] = null;
  let streamError: string | null = null;
  let responseId: string | null = null;
  for (const v of events) {
    if (responseId === null && typeof v.id === 'string') responseId = v.id;
    const c = v.choices?.[0];
    if (typeof c?.text === 'string') text += c.text;
    if (c?.finish_reason) finishReason = c.finish_reason;
    if (v.usage) usage = usageFromOpenAI(v.usage);
    if (v.error) streamError = typeof v.error.message === 'string' ? v.error.message : 'stream error';
  }
  return { text, toolCalls: [], finishReason, usage, streamError, completed, responseId };
}

export const openAICompletions: InboundProtocol<OpenAIBody> = {
  name: 'openai-completions',
  upstreamPath: '/completions',
  parseRequest: (body) => parseOpenAIBody(body, ['prompt']),
  recordedMessages: (body) => [{ role: 'user', content: body.prompt }],
  summarise: (json) => facts([(json && typeof json === 'object' ? json : {}) as CompletionLike], true),
  createReassembler: (maxBytes) =>
    boundedSseCopy(maxBytes, (text) => {
      const { events, done } = sseDataEvents<CompletionLike>(text);
      return facts(events, done);
    }),
  renderError,
  streamErrorEvent,
};
