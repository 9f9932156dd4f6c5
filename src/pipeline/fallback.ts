// What one attempt of the fallback chain sends, and which failures move the chain on (issue 13).
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import type { Provider } from '../providers/types.js';
import type { InboundProtocol } from '../protocols/types.js';
import { translation } from '../protocols/translate.js';
import { withMaxTokensField } from '../protocols/openai-chat/index.js';
import type { UpstreamCall } from './forward.js';
import type { ProviderRegistry, RoutedTarget } from '../providers/index.js';
import type { ResponseStateAt } from '../stores/ports.js';

/** Catalog codes of failures another target may not have: the provider's, not the request's. */
const RETRY_SAFE_CODES = new Set(['upstream_error', 'upstream_timeout', 'upstream_rate_limited', 'upstream_invalid_response']);

/**
 * Connect errors, timeouts, 429s (a rate limit or a quota: another provider has its own) and 5xx move
 * the chain on; a 400 (the request itself), an auth error of the gateway's key and anything after the
 * first byte do not.
 */
export function retrySafe(err: unknown): boolean {
  if (err instanceof IbexError) return RETRY_SAFE_CODES.has(err.code);
  if (err instanceof UpstreamPassthroughError) return err.status === 429 || err.status >= 500;
  return false;
}

export function errorCodeOf(err: unknown): string {
  if (err instanceof IbexError || err instanceof UpstreamPassthroughError) return err.code;
  return 'internal_error';
}

/**
 * The body, path and translation for one target; null when the target cannot take the protocol.
 * `history`: what a translated continuation sends before its input (see translation()).
 */
export function upstreamCall(
  protocol: InboundProtocol,
  placed: Record<string, unknown>,
  requestedModel: string,
  provider: Provider,
  model: string,
  history?: unknown[],
): UpstreamCall | null {
  const withModel = model === requestedModel || !model ? placed : { ...placed, model };
  if (provider.speaks(protocol.name)) {
    // It never saw the turns ibex kept for the id: they go by value
    const sent = history && protocol.withHistory ? protocol.withHistory(withModel, history) : withModel;
    return { path: protocol.upstreamPath, body: serialiseOutgoing(sent), model, translation: null };
  }
  const t = translation(protocol.name, provider.kind.wire, withModel, history);
  if (!t) return null;
  const chat = provider.kind.wire === 'openai-chat';
  const translated = t.request(withModel);
  return {
    path: chat ? '/chat/completions' : '/messages',
    body: serialiseOutgoing(chat ? withMaxTokensField(translated, provider.maxTokensField) : translated),
    model,
    translation: t,
  };
}

/** JSON.parse is iterative but JSON.stringify recurses: a body nested thousands deep parses, then cannot be re-serialised. */
export function serialiseOutgoing(body: object): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request body is nested too deeply.', param: 'messages' });
    }
    throw err;
  }
}

/** No target of the chain can take this protocol (e.g. embeddings for a model only Anthropic serves). */
export function unsupported(protocol: InboundProtocol, requestedModel: string, providers: string[]): IbexError {
  return new IbexError('IBEX_ERR_INVALID_REQUEST', {
    message: `The model "${requestedModel}" is served by ${providers.map((p) => `"${p}"`).join(', ')}, which cannot take ${protocol.name} requests.`,
    param: 'model',
  });
}

/**
 * The one target of a stateful continuation: the provider that holds the state, asked for the model
 * its entry of the chain names (else the chain's first model), with the key that created the state.
 * null when nothing is known of the id or the provider is no longer configured (routed as usual).
 */
export function pinnedTarget(
  registry: ProviderRegistry,
  targets: readonly RoutedTarget[],
  stateAt: ResponseStateAt | undefined,
): { target: RoutedTarget; keyIndex: number | undefined } | null {
  if (!stateAt) return null;
  const provider = registry.get(stateAt.provider);
  if (!provider) return null;
  const target = targets.find((t) => t.provider === provider) ?? { provider, model: targets[0]!.model };
  return { target, keyIndex: stateAt.keyIndex ?? undefined };
}
