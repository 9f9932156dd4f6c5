// Token counts between Anthropic's and OpenAI's usage objects and ibex's canonical Usage.
//
// Anthropic reports the prompt in three disjoint parts: `input_tokens` (after the last cache
// breakpoint), `cache_read_input_tokens` and `cache_creation_input_tokens`; "total input tokens in a
// request is the summation" of the three (SDK docs of Message.usage). OpenAI's `prompt_tokens` is
// that total, with the cached part repeated in `prompt_tokens_details.cached_tokens`. So ibex's
// promptTokens is the sum (what was processed and billed as input, at whatever rate), cachedTokens
// the cache reads; cache writes count as prompt tokens but not as cached ones.
import type { Usage } from '../../stores/ports.js';
import { count, type AnthropicUsage, type ChatUsage } from './wire.js';

export function usageFromAnthropic(u: AnthropicUsage | null | undefined): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const promptTokens = count(u.input_tokens) + count(u.cache_read_input_tokens) + count(u.cache_creation_input_tokens);
  const completionTokens = count(u.output_tokens);
  const usage: Usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  if (typeof u.cache_read_input_tokens === 'number') usage.cachedTokens = count(u.cache_read_input_tokens);
  const thinking = u.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number') usage.reasoningTokens = count(thinking);
  return usage;
}

/** An OpenAI usage object as Anthropic's: the cached part moves out of input_tokens. */
export function anthropicUsageFromChat(u: ChatUsage | null | undefined): Required<Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'>> {
  const prompt = count(u?.prompt_tokens);
  const cached = Math.min(count(u?.prompt_tokens_details?.cached_tokens), prompt);
  return {
    input_tokens: prompt - cached,
    output_tokens: count(u?.completion_tokens),
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: 0,
  };
}

/** An Anthropic usage object as OpenAI's (prompt_tokens is the sum of the three input parts). */
export function chatUsageFromAnthropic(u: AnthropicUsage | null | undefined): ChatUsage {
  const prompt = count(u?.input_tokens) + count(u?.cache_read_input_tokens) + count(u?.cache_creation_input_tokens);
  const completion = count(u?.output_tokens);
  const usage: ChatUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: count(u?.cache_read_input_tokens) },
  };
  const thinking = u?.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number') usage.completion_tokens_details = { reasoning_tokens: count(thinking) };
  return usage;
}
