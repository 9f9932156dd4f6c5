// What a request may cost, known before it is forwarded: the reservation a budget holds until the
// real usage is known. Deliberately an upper-ish bound and cheap to compute (no tokenizer on the hot
// path): ~4 bytes per prompt token over the whole body as received, plus the output the caller allows
// (`max_tokens`, `max_completion_tokens` or `max_output_tokens`), else DEFAULT_OUTPUT_TOKENS.
import type { ModelPrice } from './prices.js';

/** Output tokens assumed when the request sets no maximum. */
export const DEFAULT_OUTPUT_TOKENS = 1024;
/** Bytes per prompt token assumed (OpenAI's rule of thumb for English text; JSON overhead makes it generous). */
export const BYTES_PER_TOKEN = 4;

export interface SpendEstimate {
  promptTokens: number;
  outputTokens: number;
  tokens: number;
  /** USD at the model's price; 0 when the price is unknown (the reconcile then adds nothing either) */
  usd: number;
}

const OUTPUT_FIELDS = ['max_completion_tokens', 'max_tokens', 'max_output_tokens'] as const;

/** The output maximum a body names, if any (a positive whole number). */
export function requestedOutputTokens(body: unknown): number | null {
  if (body === null || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  for (const f of OUTPUT_FIELDS) {
    const v = b[f];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.ceil(v);
  }
  return null;
}

export function estimateSpend(body: unknown, bodyBytes: number, price: ModelPrice | null): SpendEstimate {
  const promptTokens = Math.max(1, Math.ceil(Math.max(0, bodyBytes) / BYTES_PER_TOKEN));
  const outputTokens = requestedOutputTokens(body) ?? DEFAULT_OUTPUT_TOKENS;
  const usd = price ? (promptTokens * price.input + outputTokens * price.output) / 1_000_000 : 0;
  return { promptTokens, outputTokens, tokens: promptTokens + outputTokens, usd };
}
