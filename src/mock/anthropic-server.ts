// Anthropic mode (`--protocol anthropic`): POST /v1/messages (plain and streamed, echo or
// tool_use), POST /v1/messages/count_tokens, GET /v1/models[/{id}], with the API's header
// checks and error shapes. The router, faults and pacing are shared with OpenAI mode (server.ts).
//
// Prompt caching, deterministically: the prefix up to the last block carrying `cache_control`
// (in the API's order: tools, system, messages) is written to the cache the first time this
// mock sees it for a model (`cache_creation_input_tokens`) and read on every later request
// (`cache_read_input_tokens`); `input_tokens` is the rest.

import { createHash } from 'node:crypto';
import type http from 'node:http';
import {
  anthropicEchoText,
  anthropicErrorBody,
  anthropicModelBody,
  anthropicModelsBody,
  anthropicUsage,
  messageEvents,
  messageObject,
  textBlock,
  toolUseBlock,
  type PromptTokens,
  type StopReason,
  type ToolUse,
} from './anthropic-shapes.js';
import type { WireProtocol } from './exchange.js';
import { errorReply, Ids, isObject, paceEvents, tokensOf, type Reply, type Route } from './route.js';
import { contentText, jsonReplyText, triggeredCalls } from './tool-trigger.js';

const RATE_LIMIT_HEADERS = Object.freeze({
  'retry-after': '1',
  'anthropic-ratelimit-requests-limit': '1000',
  'anthropic-ratelimit-requests-remaining': '0',
  'anthropic-ratelimit-requests-reset': new Date(0).toISOString(),
});

export function anthropicWire(requestIdPrefix: string): WireProtocol {
  return {
    requestIdHeader: 'request-id',
    requestIdPrefix,
    shapeError: (status, message, _param, _code, requestId) => ({
      json: JSON.stringify(anthropicErrorBody(status, message, requestId)),
      headers: status === 429 ? RATE_LIMIT_HEADERS : undefined,
    }),
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Like the real API: a key (one of `apiKeys` when set) and an `anthropic-version` header. The
 * key is `x-api-key`, or `Authorization: Bearer` (what @anthropic-ai/sdk 1.x sends for apiKey).
 */
export function anthropicAuth(req: http.IncomingMessage, apiKeys: readonly string[] | undefined): Reply | undefined {
  const auth = header(req, 'authorization');
  const key = header(req, 'x-api-key') || (auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined);
  if (!key) return errorReply(401, 'x-api-key header is required');
  if (apiKeys && !apiKeys.includes(key)) return errorReply(401, 'invalid x-api-key');
  if (!header(req, 'anthropic-version')) return errorReply(400, 'anthropic-version: header is required');
  return undefined;
}

/** Cache prefixes this mock has written, per model; bounded. */
export class PromptCache {
  private readonly seen = new Set<string>();

  constructor(private readonly limit = 1000) {}

  /** true when `key` was already cached; records it otherwise */
  hitOrWrite(key: string): boolean {
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    if (this.seen.size > this.limit) this.seen.delete(this.seen.values().next().value!);
    return false;
  }
}

/** Total prompt tokens: the echoed JSON of {system, messages}, plus the tools' JSON. */
export function promptTotal(body: Record<string, unknown>): number {
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? tokensOf(JSON.stringify(body.tools)) : 0;
  return tokensOf(JSON.stringify({ system: body.system ?? null, messages: body.messages })) + tools;
}

/** Splits the prompt into uncached input and the cached prefix (see the file comment). */
export function promptTokens(body: Record<string, unknown>, cache: PromptCache | undefined): PromptTokens {
  const total = promptTotal(body);
  const segments: unknown[] = [];
  let last = -1;
  let ttl1h = false;
  const add = (seg: unknown) => {
    segments.push(seg);
    if (isObject(seg) && isObject(seg.cache_control)) {
      last = segments.length - 1;
      ttl1h = seg.cache_control.ttl === '1h';
    }
  };
  const addAll = (v: unknown) => (Array.isArray(v) ? v.forEach(add) : v !== undefined && add(v));
  addAll(body.tools);
  addAll(body.system);
  for (const m of (body.messages as unknown[]) ?? []) addAll(isObject(m) ? m.content : m);
  if (last === -1 || !cache) return { input: total, cacheWrite: 0, cacheRead: 0, ttl1h: false };
  const prefix = JSON.stringify(segments.slice(0, last + 1));
  const cached = Math.min(tokensOf(prefix), total);
  const key = createHash('sha256').update(String(body.model)).update('\0').update(prefix).digest('hex');
  const hit = cache.hitOrWrite(key);
  return { input: Math.max(1, total - cached), cacheWrite: hit ? 0 : cached, cacheRead: hit ? cached : 0, ttl1h };
}

function lastUserText(messages: unknown[]): string | undefined {
  const last = messages[messages.length - 1];
  if (!isObject(last) || last.role !== 'user') return undefined;
  if (Array.isArray(last.content) && last.content.some((b) => isObject(b) && b.type === 'tool_result')) return undefined;
  return contentText(last.content, ['text']);
}

function validateMessages({ body }: { body: Record<string, unknown> }): Reply | undefined {
  if (typeof body.model !== 'string' || body.model === '') return errorReply(400, 'model: Field required');
  const mt = body.max_tokens;
  if (mt === undefined) return errorReply(400, 'max_tokens: Field required');
  if (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1) return errorReply(400, 'max_tokens: Input should be a valid integer greater than 0');
  if (!Array.isArray(body.messages)) return errorReply(400, 'messages: Field required');
  if (body.messages.length === 0) return errorReply(400, 'messages: at least one message is required');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return errorReply(400, 'stream: Input should be a valid boolean');
  return undefined;
}

/** Cuts the reply at `max_tokens` (4 characters a token), never inside a surrogate pair. */
function truncate(text: string, maxTokens: number): { text: string; cut: boolean } {
  const max = maxTokens * 4;
  if (text.length <= max) return { text, cut: false };
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { text: text.slice(0, end), cut: true };
}

export function anthropicRoutes(ids: Ids, cache: PromptCache) {
  const messages: Route = {
    body: true,
    model: true,
    stream: (body) => body.stream === true,
    validate: validateMessages,
    reply: ({ body, faults }) => {
      const id = ids.next('msg_');
      const model = body.model as string;
      const prompt = promptTokens(body, cache);
      const specs = triggeredCalls(body, lastUserText(body.messages as unknown[]));
      let blocks: ({ text: string } | { tool: ToolUse })[];
      let stopReason: StopReason;
      let outputTokens: number;
      if (specs) {
        const tools = specs.map((s) => ({ id: ids.next('toolu_'), name: s.name, input: s.input, json: s.arguments }));
        blocks = tools.map((tool) => ({ tool }));
        stopReason = 'tool_use';
        outputTokens = tokensOf(tools.map((t) => t.name + t.json).join(''));
      } else {
        const { text, cut } = truncate(jsonReplyText(lastUserText(body.messages as unknown[])) ?? anthropicEchoText(body), body.max_tokens as number);
        blocks = [{ text }];
        stopReason = cut ? 'max_tokens' : 'end_turn';
        outputTokens = tokensOf(text);
      }
      const usage = anthropicUsage(prompt, outputTokens);
      if (body.stream !== true) {
        const content = blocks.map((b) => ('text' in b ? textBlock(b.text) : toolUseBlock(b.tool)));
        return { kind: 'json', json: JSON.stringify(messageObject({ id, model, content, stopReason, usage })) };
      }
      const start = messageObject({ id, model, content: [], stopReason: null, usage: { ...usage, output_tokens: 1 } });
      return { kind: 'sse', sse: paceEvents(messageEvents(start, blocks, stopReason, usage, faults.chunks)) };
    },
  };

  const countTokens: Route = {
    body: true,
    model: false,
    validate: ({ body }) => {
      if (typeof body.model !== 'string' || body.model === '') return errorReply(400, 'model: Field required');
      if (!Array.isArray(body.messages)) return errorReply(400, 'messages: Field required');
      return undefined;
    },
    reply: ({ body }) => ({ kind: 'json', json: JSON.stringify({ input_tokens: promptTotal(body) }) }),
  };

  const models: Route = { body: false, model: false, reply: () => ({ kind: 'json', json: anthropicModelsBody() }) };

  const model: Route = {
    body: false,
    model: false,
    validate: ({ params }) => (anthropicModelBody(params[0]!) ? undefined : errorReply(404, `model: ${params[0]}`)),
    reply: ({ params }) => ({ kind: 'json', json: anthropicModelBody(params[0]!)! }),
  };

  return { messages, countTokens, models, model };
}
