// The few caller headers a provider of the caller's own API needs to see: feature flags, OpenAI's
// `OpenAI-Beta` and Anthropic's `anthropic-beta` (Claude Code and the Anthropic SDK turn on 1M context, interleaved
// thinking, fine-grained tool streaming, computer use… with it; without it the provider refuses the
// request's beta fields). Each protocol lists its own (InboundProtocol.forwardedHeaders); they go only
// to a provider that takes the protocol as it is, never to one it is translated for. Everything else
// of the caller's stays at the gateway (its PAT above all).
import type { IncomingHttpHeaders } from 'node:http';

/** The listed headers the caller sent (repeated ones joined by ", "), or null when it sent none. */
export function callerHeaders(names: readonly string[] | undefined, incoming: IncomingHttpHeaders): Record<string, string> | null {
  if (!names) return null;
  let out: Record<string, string> | null = null;
  for (const name of names) {
    const v = incoming[name];
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (value) (out ??= {})[name] = value;
  }
  return out;
}
