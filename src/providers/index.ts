// Provider registry and routing (seed milestones 2.1.1, 2.1.4). Only `openai` is registered in this
// phase; routing is a real seam: a request may name its provider as `provider/model` (e.g.
// `openai/gpt-4o`), otherwise the default provider serves it.
import type { IbexConfig } from '../config.js';
import { HttpProvider } from './http-provider.js';
import { openAIConfig } from './openai/config.js';
import type { Provider } from './types.js';

export type { Provider } from './types.js';

export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();

  constructor(private readonly defaultId: string) {}

  register(provider: Provider): this {
    this.providers.set(provider.id, provider);
    return this;
  }

  get(id: string): Provider | undefined {
    return this.providers.get(id);
  }

  get default(): Provider {
    const p = this.providers.get(this.defaultId);
    if (!p) throw new Error(`default provider ${this.defaultId} is not registered`);
    return p;
  }

  /**
   * Picks the provider for a model name. `openai/gpt-4o` → (openai, `gpt-4o`); a prefix that names no
   * registered provider is part of the model name (some upstreams use slashes), so the default serves it.
   */
  route(model: string): { provider: Provider; model: string } {
    const slash = model.indexOf('/');
    if (slash > 0) {
      const p = this.providers.get(model.slice(0, slash));
      if (p) return { provider: p, model: model.slice(slash + 1) };
    }
    return { provider: this.default, model };
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.close()));
  }
}

export function createProviders(config: IbexConfig): ProviderRegistry {
  const openai = new HttpProvider(openAIConfig(config.upstreamUrl, config.upstreamKey), {
    connections: config.upstreamConnections,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    ttfbTimeoutMs: config.upstreamTtfbTimeoutMs,
    idleTimeoutMs: config.upstreamIdleTimeoutMs,
    retry: { maxRetries: 2, minDelayMs: 100, maxRetryAfterMs: 2_000 },
    maxResponseBytes: config.maxResponseBytes,
  });
  return new ProviderRegistry('openai').register(openai);
}
