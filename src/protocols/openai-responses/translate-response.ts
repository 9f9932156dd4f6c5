// A chat completion as a Response object, for a Responses caller served by a chat-only provider.
import type { ResponsesBody } from './parse.js';
import { responseIds } from './ids.js';
import { buildResponse, chatUsageToResponses, type ChatUsage, type ResponseStatus } from './response-object.js';

export interface TranslateOptions {
  /** The Response id (`resp_…`); the item ids derive from it. Random when absent (see ids.ts). */
  responseId?: string;
  /** Clock in ms, for created_at/completed_at when the chat reply carries no `created` */
  now?: () => number;
}

interface ChatCompletion {
  id?: string;
  created?: number;
  model?: string;
  choices?: {
    finish_reason?: string | null;
    message?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[] | null;
    };
  }[];
  usage?: ChatUsage | null;
}

/** The Response status for a chat finish_reason: `length` and `content_filter` end an incomplete reply. */
export function statusOf(finishReason: string | null | undefined): { status: ResponseStatus; incompleteReason: 'max_output_tokens' | 'content_filter' | null } {
  if (finishReason === 'length') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed', incompleteReason: null };
}

export function chatToResponsesResponse(chatJson: unknown, requestBody: ResponsesBody, opts: TranslateOptions = {}): Record<string, unknown> {
  const chat = (chatJson ?? {}) as ChatCompletion;
  const ids = responseIds(opts.responseId);
  const choice = chat.choices?.[0];
  const message = choice?.message ?? {};
  const { status, incompleteReason } = statusOf(choice?.finish_reason);
  const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
  const output: unknown[] = [];
  const content: unknown[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'output_text', text: message.content, annotations: [], logprobs: [] });
  if (typeof message.refusal === 'string' && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal });
  if (content.length > 0) output.push({ type: 'message', id: ids.message(0), role: 'assistant', status: itemStatus, content });
  for (const call of message.tool_calls ?? []) {
    if (call.type !== undefined && call.type !== 'function') continue;
    output.push({
      type: 'function_call',
      id: ids.functionCall(output.length),
      call_id: call.id ?? ids.functionCall(output.length),
      name: call.function?.name ?? '',
      arguments: call.function?.arguments ?? '',
      status: itemStatus,
    });
  }
  const nowSec = Math.floor((opts.now ?? Date.now)() / 1000);
  return buildResponse(
    {
      id: ids.response,
      createdAt: typeof chat.created === 'number' ? chat.created : nowSec,
      model: chat.model ?? requestBody.model,
      status,
      incompleteReason,
      output,
      usage: chatUsageToResponses(chat.usage),
      ...(status === 'completed' ? { completedAt: nowSec } : {}),
    },
    requestBody,
  );
}
