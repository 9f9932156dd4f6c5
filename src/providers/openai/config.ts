// OpenAI (and any OpenAI-compatible endpoint): base URL from IBEX_UPSTREAM_URL, key from OPENAI_API_KEY.
import type { ProviderConfig } from '../types.js';

export function openAIConfig(baseUrl: string, apiKey: string | undefined): ProviderConfig {
  // Built once: the hot path reuses the same header object.
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return {
    id: 'openai',
    baseUrl,
    headers: () => headers,
  };
}
