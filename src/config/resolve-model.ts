// Which provider(s) serve a requested model name, in fallback order.
import type { IbexFileConfig, ModelTarget } from './types.js';

/**
 * 1. a public name or alias listed under `models:` → its targets, in order;
 * 2. `provider/model` whose prefix is a configured provider → that provider, the rest as the model;
 * 3. anything else → the first provider, the name as it is (so `gpt-4o` keeps working with no
 *    `models:` at all, and `meta-llama/llama-3` reaches an OpenRouter-like first provider intact).
 */
export function resolveModel(config: IbexFileConfig, requested: string): readonly ModelTarget[] {
  if (Object.hasOwn(config.models, requested)) return config.models[requested]!;
  const slash = requested.indexOf('/');
  if (slash > 0 && slash < requested.length - 1) {
    const provider = requested.slice(0, slash);
    if (config.providers.some((p) => p.name === provider)) return [{ provider, model: requested.slice(slash + 1) }];
  }
  return [{ provider: config.providers[0]!.name, model: requested }];
}

export function findProvider(config: IbexFileConfig, name: string) {
  return config.providers.find((p) => p.name === name);
}
