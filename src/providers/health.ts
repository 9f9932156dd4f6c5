// Per-replica, in-memory health of a provider: what `ibex providers` and GET /admin/v1/providers show,
// and its circuit breakers. Error messages are kept short and pass through the log redaction, so no
// secret is ever shown.
//
// A breaker per model the provider is asked for (a fallback target is provider/model: one deployment
// that fails must not send the provider's other models elsewhere). After `failures` consecutive
// outage-like failures of that target (no connection, a timeout, a 5xx: what the provider reports after
// the target's own retries) it opens for `cooldownMs`, and while open the registry puts the target last
// in its chains (src/providers/index.ts), so requests go to the healthy targets first instead of each
// waiting out the same timeout. It is never skipped outright: a chain whose targets are all open is
// tried in its order. When the cooldown is over, requests reach the target again: one success closes
// the breaker, one more failure opens it again at once. A 4xx (the request's, or a key's rate limit,
// which the key pool handles) neither opens nor closes it.
import { redact } from '../log.js';
import type { CircuitSettings } from '../config/types.js';

export interface BreakerSnapshot {
  /** The model asked of the provider */
  model: string;
  /** `open`: tried last in its chains until `openUntil` */
  state: 'closed' | 'open';
  openUntil: number | null;
  /** Outage-like failures since the last success */
  consecutiveFailures: number;
  /** How many times it opened since this replica (or this ibex.yaml) started */
  opened: number;
}

export interface HealthSnapshot {
  requests: number;
  errors: number;
  lastSuccessAt: number | null;
  lastError: { at: number; status: number | null; message: string } | null;
  /** The breakers of the models that failed at least once (those that only ever succeeded are not listed) */
  breakers: BreakerSnapshot[];
}

interface Breaker {
  consecutiveFailures: number;
  openUntil: number;
  opened: number;
}

const NO_BREAKER: CircuitSettings = { failures: 0, cooldownMs: 0 };
/** Model names come from callers: the breakers kept are bounded (the oldest goes first). */
const MAX_BREAKERS = 1000;

export class ProviderHealth {
  private requests = 0;
  private errors = 0;
  private lastSuccessAt: number | null = null;
  private lastError: HealthSnapshot['lastError'] = null;
  private readonly breakers = new Map<string, Breaker>();

  constructor(
    private readonly circuit: CircuitSettings = NO_BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  /** `model`: the target's; absent for what is not a call of one (the background probe). */
  success(model?: string): void {
    this.requests++;
    this.lastSuccessAt = this.now();
    const b = model === undefined ? undefined : this.breakers.get(model);
    if (b) {
      b.consecutiveFailures = 0;
      b.openUntil = 0;
    }
  }

  failure(status: number | null, message: string, model?: string): void {
    const at = this.now();
    this.requests++;
    this.errors++;
    this.lastError = { at, status, message: redact(message).slice(0, 200) };
    if (model === undefined || this.circuit.failures <= 0) return;
    if (status !== null && status < 500) return; // the request's or a key's, not the provider's
    let b = this.breakers.get(model);
    if (!b) {
      if (this.breakers.size >= MAX_BREAKERS) this.breakers.delete(this.breakers.keys().next().value!);
      b = { consecutiveFailures: 0, openUntil: 0, opened: 0 };
      this.breakers.set(model, b);
    }
    b.consecutiveFailures++;
    if (b.consecutiveFailures >= this.circuit.failures) {
      if (b.openUntil <= at) b.opened++;
      b.openUntil = at + this.circuit.cooldownMs;
    }
  }

  /** Whether the breaker of `model` is open now: the registry tries that target after the others. */
  tripped(model: string, at: number = this.now()): boolean {
    const b = this.breakers.get(model);
    return b !== undefined && b.openUntil > at;
  }

  snapshot(): HealthSnapshot {
    const at = this.now();
    const breakers: BreakerSnapshot[] = [];
    for (const [model, b] of this.breakers) {
      const open = b.openUntil > at;
      breakers.push({ model, state: open ? 'open' : 'closed', openUntil: open ? b.openUntil : null, consecutiveFailures: b.consecutiveFailures, opened: b.opened });
    }
    return { requests: this.requests, errors: this.errors, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError, breakers };
  }
}
