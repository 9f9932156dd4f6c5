// Wire shapes of the Anthropic Messages API (from @anthropic-ai/sdk/resources/messages/messages.d.ts
// and shared.d.ts): the Message, its content blocks, the stream events, usage, errors, models.
// Pure builders; anthropic-server.ts adds ids, faults and the request.

import { randomBytes } from 'node:crypto';
import { splitContent } from './openai-shapes.js';
import { namedEvent, type PacedEvent } from './route.js';

export const ANTHROPIC_MODELS = [
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', line: 'sonnet' },
  { id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', line: 'sonnet' },
  { id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', line: 'haiku' },
] as const;
const MODELS_CREATED_AT = '2025-09-29T00:00:00Z';

/** The echo: what arrived in `system` and `messages`, so a test sees where a directive went. */
export function anthropicEchoText(body: Record<string, unknown>): string {
  return 'echo:' + JSON.stringify({ system: body.system ?? null, messages: body.messages });
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
  server_tool_use: null;
  service_tier: 'standard';
}

/** Prompt accounting: the uncached input, plus the prefix written to or read from the cache. */
export interface PromptTokens {
  input: number;
  cacheWrite: number;
  cacheRead: number;
  /** the cache write's ttl bucket */
  ttl1h: boolean;
}

export function anthropicUsage(p: PromptTokens, output: number): AnthropicUsage {
  return {
    input_tokens: p.input,
    cache_creation_input_tokens: p.cacheWrite,
    cache_read_input_tokens: p.cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: p.ttl1h ? 0 : p.cacheWrite,
      ephemeral_1h_input_tokens: p.ttl1h ? p.cacheWrite : 0,
    },
    output_tokens: output,
    server_tool_use: null,
    service_tier: 'standard',
  };
}

export interface ToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
  /** the JSON text streamed as input_json_delta pieces */
  json: string;
}

export function textBlock(text: string) {
  return { type: 'text', text, citations: null };
}

export function toolUseBlock(t: ToolUse, input: unknown = t.input) {
  return { type: 'tool_use', id: t.id, name: t.name, input, caller: { type: 'direct' } };
}

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use';

export function messageObject(p: {
  id: string;
  model: string;
  content: unknown[];
  stopReason: StopReason | null;
  usage: AnthropicUsage;
}): Record<string, unknown> {
  return {
    id: p.id,
    type: 'message',
    role: 'assistant',
    model: p.model,
    content: p.content,
    stop_reason: p.stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: p.usage,
  };
}

/**
 * The stream of one message, in Anthropic's order: message_start (usage with the input
 * tokens, output_tokens 1), then per block content_block_start → deltas (text_delta /
 * input_json_delta) → content_block_stop, a `ping` after the first block starts,
 * message_delta (stop_reason and the final usage), message_stop. Deltas are the paced events.
 */
export function messageEvents(
  start: Record<string, unknown>,
  blocks: ({ text: string } | { tool: ToolUse })[],
  stopReason: StopReason,
  usage: AnthropicUsage,
  chunks: number,
): PacedEvent[] {
  const events: PacedEvent[] = [];
  const push = (type: string, fields: object, delta = false) => events.push({ text: namedEvent(type, { type, ...fields }), delta });
  push('message_start', { message: start });
  blocks.forEach((block, index) => {
    if ('text' in block) {
      push('content_block_start', { index, content_block: textBlock('') });
      if (index === 0) push('ping', {});
      for (const piece of splitContent(block.text, chunks)) {
        push('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }, true);
      }
    } else {
      push('content_block_start', { index, content_block: toolUseBlock(block.tool, {}) });
      if (index === 0) push('ping', {});
      for (const piece of splitContent(block.tool.json, chunks)) {
        if (piece !== '') push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }, true);
      }
    }
    push('content_block_stop', { index });
  });
  push('message_delta', {
    delta: { stop_reason: stopReason, stop_sequence: null, stop_details: null, container: null },
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens: usage.output_tokens,
      server_tool_use: null,
    },
  });
  push('message_stop', {});
  return events;
}

/** Anthropic's error type for a status. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Number of requests has exceeded your rate limit (injected by ibex mock upstream).';
  if (status === 503 || status === 529) return 'Overloaded (injected by ibex mock upstream).';
  if (status >= 500) return 'Internal server error (injected by ibex mock upstream).';
  return `Request failed with status ${status} (injected by ibex mock upstream).`;
}

export function newRequestId(): string {
  return 'req_mock' + randomBytes(10).toString('hex');
}

/** `{"type":"error","error":{"type","message"},"request_id"}`, as ErrorResponse in shared.d.ts. */
export function anthropicErrorBody(status: number, message: string | undefined, requestId: string) {
  return { type: 'error', error: { type: anthropicErrorType(status), message: message ?? defaultMessage(status) }, request_id: requestId };
}

function modelInfo(m: (typeof ANTHROPIC_MODELS)[number]) {
  return {
    type: 'model',
    id: m.id,
    display_name: m.display_name,
    created_at: MODELS_CREATED_AT,
    capabilities: null,
    deprecated_at: null,
    lifecycle: 'active',
    line: m.line,
    max_input_tokens: 200_000,
    max_tokens: 64_000,
    retires_at: null,
  };
}

export function anthropicModelsBody(): string {
  const data = ANTHROPIC_MODELS.map(modelInfo);
  return JSON.stringify({ data, first_id: data[0]!.id, last_id: data[data.length - 1]!.id, has_more: false });
}

export function anthropicModelBody(id: string): string | undefined {
  const m = ANTHROPIC_MODELS.find((x) => x.id === id);
  return m ? JSON.stringify(modelInfo(m)) : undefined;
}
