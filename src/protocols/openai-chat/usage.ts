// OpenAI's usage object (chat completions and legacy completions) → ibex's Usage.
import type { Usage } from '../../stores/ports.js';

export interface RawUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export function usageFromOpenAI(u: RawUsage | undefined | null): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const prompt = Number(u.prompt_tokens ?? 0) || 0;
  const completion = Number(u.completion_tokens ?? 0) || 0;
  const usage: Usage = { promptTokens: prompt, completionTokens: completion, totalTokens: Number(u.total_tokens ?? prompt + completion) || 0 };
  const cached = Number(u.prompt_tokens_details?.cached_tokens);
  if (Number.isFinite(cached) && cached > 0) usage.cachedTokens = cached;
  const reasoning = Number(u.completion_tokens_details?.reasoning_tokens);
  if (Number.isFinite(reasoning) && reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}
