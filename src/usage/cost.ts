// The cost of a request from its usage and its model's price. Cached prompt tokens are part of the
// prompt tokens (OpenAI's and ibex's convention, see protocols/*/usage.ts) and are billed at the cached
// rate; reasoning tokens are part of the completion tokens and billed as output.
import type { Usage } from '../stores/ports.js';
import type { ModelPrice } from './prices.js';

/** USD of one request; null when the usage or the price is unknown (never 0 for "unknown"). */
export function costUsd(usage: Usage | null, price: ModelPrice | null): number | null {
  if (!usage || !price) return null;
  const cached = Math.min(Math.max(0, usage.cachedTokens ?? 0), Math.max(0, usage.promptTokens));
  const uncached = Math.max(0, usage.promptTokens - cached);
  const micro = uncached * price.input + cached * price.cachedInput + Math.max(0, usage.completionTokens) * price.output;
  return roundUsd(micro / 1_000_000);
}

/** Twelve decimals: far below a token's price, and free of binary noise like 0.30000000000000004. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e12) / 1e12;
}

/** Whole micro-dollars (1e-6 USD), rounded up: what budget counters add (integers are exact in Redis). */
export function toMicroUsd(usd: number | null): number {
  if (usd === null || !Number.isFinite(usd) || usd <= 0) return 0;
  return Math.ceil(roundUsd(usd * 1_000_000));
}

export function fromMicroUsd(micro: number): number {
  return micro / 1_000_000;
}
