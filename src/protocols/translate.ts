// Translation between a caller's protocol and the wire a provider speaks, when they differ (issue 13):
// an Anthropic caller reaching an OpenAI-compatible model, an OpenAI chat or Responses caller reaching
// Claude. The hub is OpenAI chat: each protocol folder translates to and from it, and a pair that
// meets neither end at chat is composed through it (Responses ⇄ Anthropic). The core sends
// `request(body)` upstream and hands the caller `response(json)` or the bytes of `stream()`: the
// caller's reassembler then reads the translated stream, so what is recorded is what the caller got.
import type { StreamTranslator, WireFormat } from './types.js';
import {
  anthropicToChatRequest,
  anthropicToChatResponse,
  chatToAnthropicRequest,
  chatToAnthropicResponse,
  createAnthropicToChatStream,
  createChatToAnthropicStream,
} from './anthropic-messages/index.js';
import { chatToResponsesResponse, createChatToResponsesStream, responsesToChatRequest, type ResponsesBody } from './openai-responses/index.js';

type Json = Record<string, unknown>;

export interface Translation {
  /** The caller's body (directive placed) → the provider's body */
  request(body: Json): Json;
  /** The provider's complete reply → the caller's */
  response(json: unknown): unknown;
  /** A translator of the provider's stream into the caller's */
  stream(): StreamTranslator;
}

/**
 * How a caller protocol reaches a provider wire; null when no translation exists (e.g. embeddings →
 * Anthropic). `history`: the earlier turns' items of a Responses continuation (previous_response_id),
 * which a provider of another wire has no state for (pipeline/translated-turns.ts).
 */
export function translation(from: string, to: WireFormat, callerBody: Json, history?: unknown[]): Translation | null {
  if (from === to) return null;
  const model = typeof callerBody.model === 'string' ? callerBody.model : undefined;
  const includeUsage = (callerBody.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const toChat = intoChat(from, callerBody, model, history);
  if (!toChat) return null;
  if (to === 'openai-chat') return toChat;
  if (to === 'anthropic-messages') {
    // caller → chat → Anthropic, and Anthropic → chat → caller.
    return {
      request: (body) => chatToAnthropicRequest(toChat.request(body)),
      response: (json) => toChat.response(anthropicToChatResponse(json, { model })),
      // A chat caller gets the usage chunk only when it asked; a caller translated further needs it.
      stream: () => compose(createAnthropicToChatStream({ includeUsage: from !== 'openai-chat' || includeUsage, model }), toChat.stream()),
    };
  }
  return null;
}

/** The caller's protocol to and from OpenAI chat (identity for chat callers). */
function intoChat(from: string, callerBody: Json, model: string | undefined, history: unknown[] | undefined): Translation | null {
  switch (from) {
    case 'openai-chat':
      return { request: (body) => body, response: (json) => json, stream: passthrough };
    case 'anthropic-messages':
      return {
        request: (body) => anthropicToChatRequest(body),
        response: (json) => chatToAnthropicResponse(json, model ?? ''),
        stream: () => createChatToAnthropicStream({ model }),
      };
    case 'openai-responses':
      return {
        request: (body) => responsesToChatRequest(body as ResponsesBody, history ? { history } : {}),
        response: (json) => chatToResponsesResponse(json, callerBody as ResponsesBody),
        stream: () => createChatToResponsesStream(callerBody as ResponsesBody),
      };
    default:
      return null;
  }
}

/** Chat → chat: the bytes as they are (the composed Anthropic → chat leg already shaped them). */
function passthrough(): StreamTranslator {
  const decoder = new TextDecoder();
  return { push: (chunk) => decoder.decode(chunk, { stream: true }), end: () => decoder.decode() };
}

/** a then b: b reads what a writes. */
function compose(a: StreamTranslator, b: StreamTranslator): StreamTranslator {
  return {
    push: (chunk) => {
      const mid = a.push(chunk);
      return mid ? b.push(Buffer.from(mid)) : '';
    },
    end: () => {
      const mid = a.end();
      return (mid ? b.push(Buffer.from(mid)) : '') + b.end();
    },
  };
}
