// What `GET /admin/v1/providers` and `ibex providers` show: each provider of this replica with its key
// pool (masked keys, the variable each came from, cooling state) and its in-memory health, plus the
// ibex.yaml model names and their chains. Instants are ISO 8601 (the CLI's one JSON time format).
// The whole view passes the log redaction, so a secret that slipped into a base URL or an error
// message is masked too.
import { redact } from '../log.js';
import type { ProviderRegistry } from './index.js';

export interface ProvidersView {
  providers: {
    id: string;
    kind: string;
    baseUrl: string;
    keyStrategy: string;
    keys: { key: string; env: string | null; coolingUntil: string | null; uses: number; cooldowns: number }[];
    health: {
      requests: number;
      errors: number;
      lastSuccessAt: string | null;
      lastError: { at: string; status: number | null; message: string } | null;
      /** Circuit breakers of the models that failed: `open` until `openUntil` = that target is tried last in its chains */
      breakers: { model: string; state: 'closed' | 'open'; openUntil: string | null; consecutiveFailures: number; opened: number }[];
    };
  }[];
  /** Public names and aliases → their fallback chain as `provider/model` */
  models: Record<string, string[]>;
}

export function providersView(registry: ProviderRegistry): ProvidersView {
  const view: ProvidersView = {
    providers: registry.status().map((s) => ({
      id: s.id,
      kind: s.kind,
      baseUrl: s.baseUrl,
      keyStrategy: s.keyStrategy,
      keys: s.keys.map((k) => ({ key: k.key, env: k.env, coolingUntil: iso(k.coolingUntil), uses: k.uses, cooldowns: k.cooldowns })),
      health: {
        requests: s.health.requests,
        errors: s.health.errors,
        lastSuccessAt: iso(s.health.lastSuccessAt),
        lastError: s.health.lastError ? { at: iso(s.health.lastError.at)!, status: s.health.lastError.status, message: s.health.lastError.message } : null,
        breakers: s.health.breakers.map((b) => ({ ...b, openUntil: iso(b.openUntil) })),
      },
    })),
    models: registry.chains(),
  };
  return JSON.parse(redact(JSON.stringify(view))) as ProvidersView;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
