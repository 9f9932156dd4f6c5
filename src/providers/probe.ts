// The optional background probe of provider health (off by default: IBEX_PROVIDER_PROBE_INTERVAL, e.g.
// `60s`). Each tick asks every provider for its model list (`GET /models`, which costs no tokens); the
// answer lands in the provider's health like any request's, so `ibex providers` shows a provider's
// state even while no traffic goes to it (a fallback target, say). One probe per provider at a time.
import type { ProviderRegistry } from './index.js';
import { AbortEmitter } from '../util/abort-emitter.js';

/** Starts probing; returns stop(). The registry getter follows ibex.yaml reloads. */
export function startProviderProbe(registry: () => ProviderRegistry, intervalMs: number, timeoutMs = 10_000): () => void {
  const busy = new Set<string>();
  const tick = () => {
    for (const status of registry().status()) {
      const provider = registry().get(status.id);
      if (!provider || busy.has(provider.id)) continue;
      busy.add(provider.id);
      const abort = new AbortEmitter();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      timer.unref();
      provider
        .send({ method: 'GET', path: '/models' }, { requestId: `probe-${Date.now()}`, signal: abort })
        .then((res) => res.body.dump())
        .catch(() => {}) // recorded in the provider's health by send()
        .finally(() => {
          clearTimeout(timer);
          busy.delete(provider.id);
        });
    }
  };
  const interval = setInterval(tick, intervalMs);
  interval.unref();
  return () => clearInterval(interval);
}
