// The Response object ibex returns when a chat completion stands in for the Responses API: the
// generated parts (id, status, output, usage) plus the request settings echoed as the API does.
import type { ResponsesBody } from './parse.js';

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseParts {
  id: string;
  /** Unix seconds */
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: unknown[];
  usage?: ResponsesUsage | null;
  error?: { code: string; message: string } | null;
  incompleteReason?: 'max_output_tokens' | 'content_filter' | null;
  /** Unix seconds; set on a completed response */
  completedAt?: number;
}

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** What a chat completion reports as `usage` (and its details, when the provider fills them). */
export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function chatUsageToResponses(u: ChatUsage | null | undefined): ResponsesUsage | null {
  if (u === null || typeof u !== 'object') return null;
  const input = n(u.prompt_tokens);
  const output = n(u.completion_tokens);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: n(u.prompt_tokens_details?.cached_tokens), cache_write_tokens: n(u.prompt_tokens_details?.cache_write_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: n(u.completion_tokens_details?.reasoning_tokens) },
    total_tokens: typeof u.total_tokens === 'number' ? u.total_tokens : input + output,
  };
}

export function buildResponse(p: ResponseParts, body: ResponsesBody): Record<string, unknown> {
  const response: Record<string, unknown> = {
    id: p.id,
    object: 'response',
    created_at: p.createdAt,
    status: p.status,
    background: false,
    error: p.error ?? null,
    incomplete_details: p.incompleteReason ? { reason: p.incompleteReason } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: p.model,
    output: p.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    service_tier: body.service_tier ?? 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
  };
  if (p.usage) response.usage = p.usage;
  if (typeof body.user === 'string') response.user = body.user;
  if (p.completedAt !== undefined) response.completed_at = p.completedAt;
  return response;
}
