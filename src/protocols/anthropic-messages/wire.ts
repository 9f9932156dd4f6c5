// The parts of the Anthropic Messages and OpenAI chat wire formats this module reads or writes, as
// loose shapes: bodies come from callers and providers and are checked as they are read. The official
// SDK types (@anthropic-ai/sdk resources/messages, openai resources/chat/completions) are the source
// of truth; the tests build their fixtures from them. Kept local so src/ needs no dev dependency.

export type Json = Record<string, unknown>;

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
}

export interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  [key: string]: unknown;
}

export interface AnthropicMessage {
  id?: string;
  type?: string;
  role?: string;
  model?: string;
  content?: AnthropicBlock[];
  stop_reason?: string | null;
  stop_sequence?: string | null;
  usage?: AnthropicUsage | null;
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
}

export interface ChatToolCall {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletion {
  id?: string;
  model?: string;
  choices?: {
    index?: number;
    message?: { content?: string | null; refusal?: string | null; tool_calls?: ChatToolCall[] | null };
    finish_reason?: string | null;
  }[];
  usage?: ChatUsage | null;
  error?: { message?: unknown; type?: unknown; code?: unknown };
}

export interface ChatChunk {
  id?: string;
  model?: string;
  created?: number;
  choices?: {
    index?: number;
    delta?: { role?: string; content?: string | null; refusal?: string | null; tool_calls?: ChatToolCall[] | null };
    finish_reason?: string | null;
  }[];
  usage?: ChatUsage | null;
  error?: { message?: unknown; type?: unknown; code?: unknown };
}

export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A count from a provider's usage object: a finite non-negative number, else 0. */
export const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
