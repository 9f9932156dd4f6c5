// What differs between provider kinds, declared as data (after Portkey's provider configs): how a key is
// sent, which extra headers go with every request, where each call goes, and which wire formats the kind
// speaks natively. An OpenAI-compatible server (OpenRouter, Groq, Together, vLLM, Ollama, LM Studio…) is
// kind `openai` with its base URL: no code.
import type { ProviderKind } from '../config/types.js';
import type { WireFormat } from '../protocols/types.js';

export interface KindSpec {
  readonly kind: ProviderKind;
  /** The conversation wire formats this kind takes as they are (others are translated) */
  readonly speaks: readonly string[];
  /** The protocol the kind is translated to when it does not speak the caller's */
  readonly wire: WireFormat;
  /** Headers carrying the key, and any fixed ones */
  authHeaders(key: string | null): Record<string, string>;
  /** The path (under the base URL) of a call; `upstreamPath` is OpenAI's, relative to `/v1` */
  path(upstreamPath: string, model: string, apiVersion?: string): string;
}

const OPENAI_SURFACE = ['openai-chat', 'openai-responses', 'openai-embeddings', 'openai-completions', 'openai-moderations'];

export const KINDS: Record<ProviderKind, KindSpec> = {
  openai: {
    kind: 'openai',
    speaks: OPENAI_SURFACE,
    wire: 'openai-chat',
    authHeaders: (key): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {}),
    path: (p) => p,
  },
  'azure-openai': {
    kind: 'azure-openai',
    // Azure OpenAI serves chat, embeddings and legacy completions per deployment; Responses lives
    // under a different surface and is translated to chat.
    speaks: ['openai-chat', 'openai-embeddings', 'openai-completions'],
    wire: 'openai-chat',
    authHeaders: (key): Record<string, string> => (key ? { 'api-key': key } : {}),
    // Model lookups are per resource (/openai/models), calls per deployment.
    path: (p, model, apiVersion) => {
      const version = `api-version=${encodeURIComponent(apiVersion ?? '2024-10-21')}`;
      return p.startsWith('/models') ? `/openai${p}?${version}` : `/openai/deployments/${encodeURIComponent(model)}${p}?${version}`;
    },
  },
  anthropic: {
    kind: 'anthropic',
    speaks: ['anthropic-messages'],
    wire: 'anthropic-messages',
    authHeaders: (key) => ({ ...(key ? { 'x-api-key': key } : {}), 'anthropic-version': '2023-06-01' }),
    // Model lookups keep their path (GET /v1/models[/{id}]); every conversation call is Messages.
    path: (p) => (p === '/messages/count_tokens' ? '/v1/messages/count_tokens' : p.startsWith('/models') ? `/v1${p}` : '/v1/messages'),
  },
};
