// POST /v1/chat/completions: the echo reply (shapes in openai-shapes.ts, unchanged), or tool
// calls when the request declares tools and the last user message is a `call:NAME {json}`
// trigger (tool-trigger.ts): non-streaming `message.tool_calls`, streaming `delta.tool_calls`
// with an index per call, finish_reason "tool_calls".

import { chunkFramer, completionBody, DONE_EVENT, echoContent, MOCK_FINGERPRINT, splitContent, streamEvents, type Usage } from './openai-shapes.js';
import { errorReply, Ids, nowSeconds, tokensOf, type Reply, type Route, type SseReply } from './route.js';
import { contentText, jsonReplyText, triggeredCalls, type ToolCallSpec } from './tool-trigger.js';

const DEFAULT_MODEL = 'gpt-4o-mini';

export interface ChatToolCall extends ToolCallSpec {
  id: string;
}

function lastUserText(messages: unknown[]): string | undefined {
  const last = messages[messages.length - 1] as Record<string, unknown> | undefined;
  if (!last || last.role !== 'user') return undefined;
  return contentText(last.content, ['text']);
}

function includeUsage(body: Record<string, unknown>): boolean {
  const so = body.stream_options;
  return typeof so === 'object' && so !== null && (so as Record<string, unknown>).include_usage === true;
}

export function toolCallUsage(messages: unknown[], calls: ToolCallSpec[]): Usage {
  const prompt_tokens = tokensOf(JSON.stringify(messages));
  const completion_tokens = tokensOf(calls.map((c) => c.name + c.arguments).join(''));
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

export function toolCallsBody(id: string, created: number, model: string, calls: ChatToolCall[], usage: Usage): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: MOCK_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
          refusal: null,
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage,
  });
}

/**
 * Like OpenAI: the first chunk has the role and the first call's id/name with empty arguments;
 * each further call opens with such a header; argument pieces follow as `{index, function:
 * {arguments}}` deltas (`chunks` pieces per call, empty ones dropped).
 */
export function toolCallsStream(
  id: string,
  created: number,
  model: string,
  calls: ChatToolCall[],
  chunks: number,
  usage: Usage | undefined,
): SseReply {
  const frame = chunkFramer(id, created, model, usage !== undefined);
  const header = (c: ChatToolCall, index: number) => ({ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } });
  const first = frame.delta(JSON.stringify({ role: 'assistant', content: null, tool_calls: [header(calls[0]!, 0)], refusal: null }));
  const rest: string[] = [];
  calls.forEach((c, index) => {
    if (index > 0) rest.push(frame.delta(JSON.stringify({ tool_calls: [header(c, index)] })));
    for (const piece of splitContent(c.arguments, chunks)) {
      if (piece !== '') rest.push(frame.delta(JSON.stringify({ tool_calls: [{ index, function: { arguments: piece } }] })));
    }
  });
  const tail = frame.finish('tool_calls') + (usage ? frame.usage(usage) : '') + DONE_EVENT;
  return { first, rest, tail };
}

export function chatRoute(ids: Ids): Route {
  return {
    body: true,
    model: true,
    stream: (body) => body.stream === true,
    validate: ({ body }) =>
      Array.isArray(body.messages) ? undefined : errorReply(400, "Missing required parameter: 'messages' (an array).", 'messages'),
    reply: ({ body, faults }): Reply => {
      const messages = body.messages as unknown[];
      const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
      const id = ids.next('chatcmpl-');
      const created = nowSeconds();
      const stream = body.stream === true;
      const specs = triggeredCalls(body, lastUserText(messages));
      if (specs) {
        const calls = specs.map((s) => ({ ...s, id: ids.next('call_') }));
        const usage = toolCallUsage(messages, calls);
        if (!stream) return { kind: 'json', json: toolCallsBody(id, created, model, calls, usage) };
        return { kind: 'sse', sse: toolCallsStream(id, created, model, calls, faults.chunks, includeUsage(body) ? usage : undefined) };
      }
      const content = jsonReplyText(lastUserText(messages)) ?? echoContent(messages);
      if (!stream) return { kind: 'json', json: completionBody(id, created, model, content) };
      const ev = streamEvents(id, created, model, content, faults.chunks, includeUsage(body));
      return { kind: 'sse', sse: { first: ev.role + ev.contents[0], rest: ev.contents.slice(1), tail: ev.tail } };
    },
  };
}
