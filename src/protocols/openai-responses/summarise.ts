// ReplyFacts of a Response object: a non-streamed reply, or the `response` carried by a stream's
// terminal event (response.completed / incomplete / failed).
import type { Usage } from '../../stores/ports.js';
import type { CanonicalToolCall, ReplyFacts } from '../types.js';

/** ReplyFacts plus the output items, which a Responses checkpoint records as they came. */
export interface ResponsesReplyFacts extends ReplyFacts {
  /** The Response's `output` items; null when the reply carried none we could read */
  output: unknown[] | null;
}

/** A Response status that ends generation; `queued` and `in_progress` (background mode) do not. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'incomplete', 'failed', 'cancelled']);

interface RawResponse {
  id?: unknown;
  status?: unknown;
  output?: unknown;
  usage?: RawResponsesUsage | null;
  error?: { message?: unknown; code?: unknown } | null;
  incomplete_details?: { reason?: unknown } | null;
}

export interface RawResponsesUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  total_tokens?: unknown;
  input_tokens_details?: { cached_tokens?: unknown } | null;
  output_tokens_details?: { reasoning_tokens?: unknown } | null;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Facts of a Response object. `completed` is true once the response reached a terminal status
 * (completed, incomplete, failed, cancelled): like chat's [DONE] after `finish_reason: length`, an
 * `incomplete` reply was delivered to its end; the why is in finishReason (`incomplete:max_output_tokens`)
 * and a failure in streamError. A background response still `queued`/`in_progress` is not completed.
 */
export function summarise(json: unknown): ResponsesReplyFacts {
  const r: RawResponse = isObject(json) ? json : {};
  const status = str(r.status);
  const output = Array.isArray(r.output) ? r.output : null;
  const { text, toolCalls } = readOutput(output ?? []);
  return {
    text,
    toolCalls,
    finishReason: finishReason(status, r.incomplete_details),
    usage: toUsage(r.usage),
    streamError: status === 'failed' ? errorMessage(r.error) : null,
    completed: status !== null && TERMINAL_STATUSES.has(status),
    responseId: str(r.id),
    output,
  };
}

/** The text (output_text parts of message items, in order) and function calls of output items. */
export function readOutput(output: unknown[]): { text: string | null; toolCalls: CanonicalToolCall[] } {
  let text: string | null = null;
  const toolCalls: CanonicalToolCall[] = [];
  for (const item of output) {
    if (!isObject(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') text = (text ?? '') + part.text;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: str(item.call_id) ?? str(item.id) ?? '', name: str(item.name) ?? '', arguments: str(item.arguments) ?? '' });
    }
  }
  return { text, toolCalls };
}

function finishReason(status: string | null, details: RawResponse['incomplete_details']): string | null {
  if (status === 'incomplete' && isObject(details) && typeof details.reason === 'string') return `incomplete:${details.reason}`;
  return status;
}

function errorMessage(error: RawResponse['error']): string {
  if (isObject(error) && typeof error.message === 'string') return error.message;
  return 'The response failed.';
}

/** Canonical Usage of a Responses `usage` object; cached and reasoning tokens kept when reported. */
export function toUsage(u: RawResponsesUsage | null | undefined): Usage | null {
  if (!isObject(u)) return null;
  const promptTokens = num(u.input_tokens) ?? 0;
  const completionTokens = num(u.output_tokens) ?? 0;
  const usage: Usage = { promptTokens, completionTokens, totalTokens: num(u.total_tokens) ?? promptTokens + completionTokens };
  const cached = num(isObject(u.input_tokens_details) ? u.input_tokens_details.cached_tokens : undefined);
  const reasoning = num(isObject(u.output_tokens_details) ? u.output_tokens_details.reasoning_tokens : undefined);
  if (cached !== undefined) usage.cachedTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}
