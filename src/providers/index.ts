// The provider registry (issue 13): the providers named in ibex.yaml (or, without a file, one `openai`
// provider from IBEX_UPSTREAM_URL + OPENAI_API_KEY), and routing of a requested model name to its
// ordered fallback chain of targets. Rebuilt as a whole when ibex.yaml changes (the gateway swaps
// registries; requests in flight finish on the old one).
import type { IbexConfig } from '../config.js';
import type { IbexFileConfig, ModelTarget } from '../config/types.js';
import { resolveModel } from '../config/resolve-model.js';
import { HttpProvider, type ProviderStatus } from './http-provider.js';
import { KINDS } from './kinds.js';
import type { Provider } from './types.js';

export type { Provider } from './types.js';

export interface RoutedTarget {
  provider: Provider;
  /** The model name the provider is asked for */
  model: string;
}

export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();

  constructor(private readonly file: IbexFileConfig | null = null) {}

  register(provider: Provider): this {
    this.providers.set(provider.id, provider);
    return this;
  }

  get(id: string): Provider | undefined {
    return this.providers.get(id);
  }

  /** The first provider: it takes models that name no known provider. */
  get default(): Provider {
    const first = this.providers.values().next();
    if (first.done) throw new Error('no provider is registered');
    return first.value;
  }

  /** Retries per target before the chain moves on (ibex.yaml `retries.perTarget`). */
  get retriesPerTarget(): number {
    return this.file?.retries.perTarget ?? 2;
  }

  /** The fallback chain for a requested model (aliases and `provider/model` resolved). */
  targets(model: string): RoutedTarget[] {
    const chain: readonly ModelTarget[] = this.file ? resolveModel(this.file, model) : fallbackRoute(this, model);
    const out: RoutedTarget[] = [];
    for (const t of chain) {
      const provider = this.providers.get(t.provider);
      if (provider) out.push({ provider, model: t.model });
    }
    if (out.length === 0) out.push({ provider: this.default, model });
    return out.length > 1 ? healthyFirst(out) : out;
  }

  /** The first target (what single-target callers such as the relay use). */
  route(model: string): RoutedTarget {
    return this.targets(model)[0]!;
  }

  /** Public model names and aliases configured in ibex.yaml `models:`. */
  aliases(): string[] {
    return this.file ? Object.keys(this.file.models) : [];
  }

  /** Each ibex.yaml model name → its chain as `provider/model` (for the admin view). */
  chains(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, targets] of Object.entries(this.file?.models ?? {})) out[name] = targets.map((t) => `${t.provider}/${t.model}`);
    return out;
  }

  status(): ProviderStatus[] {
    return [...this.providers.values()].map((p) => p.status());
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.close()));
  }
}

/**
 * The chain with the targets whose breaker is open moved to the end, each group in chain
 * order (a stable partition). Nothing is dropped: when every target is open, the order is the chain's.
 */
function healthyFirst(chain: RoutedTarget[]): RoutedTarget[] {
  const now = Date.now();
  let open: RoutedTarget[] | null = null;
  const healthy: RoutedTarget[] = [];
  for (const t of chain) {
    if (t.provider.tripped?.(t.model, now)) (open ??= []).push(t);
    else healthy.push(t);
  }
  return open ? healthy.concat(open) : chain;
}

/** Without a file: `provider/model` when the prefix names a registered provider, else the default. */
function fallbackRoute(reg: ProviderRegistry, model: string): ModelTarget[] {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const p = reg.get(model.slice(0, slash));
    if (p) return [{ provider: p.id, model: model.slice(slash + 1) }];
  }
  return [{ provider: reg.default.id, model }];
}

/** Builds every provider of the file config, with the gateway-wide settings as defaults. */
export function createProviders(config: IbexConfig, file: IbexFileConfig): ProviderRegistry {
  const registry = new ProviderRegistry(file);
  for (const p of file.providers) {
    registry.register(
      new HttpProvider(
        {
          id: p.name,
          kind: KINDS[p.kind],
          baseUrl: p.baseUrl,
          keys: p.keys.map((k) => ({ value: k.value, masked: k.masked, env: k.env })),
          keyStrategy: p.keyStrategy,
          cooldownMs: p.cooldownMs,
          apiVersion: p.apiVersion,
          headers: p.headers,
          maxTokensField: p.maxTokensField,
        },
        {
          connections: config.upstreamConnections,
          connectTimeoutMs: p.timeouts.connectMs ?? file.timeouts.connectMs ?? config.upstreamConnectTimeoutMs,
          ttfbTimeoutMs: p.timeouts.ttfbMs ?? file.timeouts.ttfbMs ?? config.upstreamTtfbTimeoutMs,
          idleTimeoutMs: p.timeouts.idleMs ?? file.timeouts.idleMs ?? config.upstreamIdleTimeoutMs,
          retry: { maxRetries: file.retries.perTarget, minDelayMs: 100, maxRetryAfterMs: 2_000 },
          circuit: file.circuit,
          maxResponseBytes: file.limits.responseBytes ?? config.maxResponseBytes,
        },
      ),
    );
  }
  return registry;
}
