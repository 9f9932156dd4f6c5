// How one request should misbehave: the server-wide options, overridden by an optional
// programmatic hook, overridden by `x-mock-*` request headers (the most specific wins).

import type { IncomingHttpHeaders } from 'node:http';

export type ResetPoint = 'before-headers' | 'mid-stream';

export interface RequestFaults {
  /** Reply this HTTP status with an OpenAI-shaped error instead of a completion */
  fail?: number;
  /** Non-streaming: delay before the whole reply */
  latencyMs: number;
  /** Streaming: delay before the status line and first chunk */
  ttfbMs: number;
  /** Streaming: number of content deltas (>= 1) */
  chunks: number;
  /** Streaming: gap between content deltas */
  chunkIntervalMs: number;
  /** Destroy the socket at this point */
  reset?: ResetPoint;
  /** Pause this long after the first part of the body (first chunk, or first half of a JSON body) */
  stallMs: number;
  /** Non-streaming: gzip the body and send content-encoding: gzip */
  gzip: boolean;
}

/** A request the mock refuses (bad body, bad x-mock-* header): becomes an OpenAI-shaped error. */
export class MockRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

// Upper bound for any injected delay: long enough for timeout tests, short enough that a
// typo cannot wedge a test run for hours.
export const MAX_DELAY_MS = 600_000;
export const MAX_CHUNKS = 100_000;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function intHeader(headers: IncomingHttpHeaders, name: string, min: number, max: number): number | undefined {
  const raw = headerValue(headers, name);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new MockRequestError(400, `Invalid ${name} header ${JSON.stringify(raw)}: expected an integer in [${min}, ${max}].`, name);
  }
  return n;
}

/** True when the request carries any x-mock-* header, so the common case skips all parsing. */
function hasMockHeaders(headers: IncomingHttpHeaders): boolean {
  for (const key in headers) {
    if (key.startsWith('x-mock-')) return true;
  }
  return false;
}

/** Applies `x-mock-*` headers on top of `base` (mutates and returns it). Throws MockRequestError on a bad value. */
export function applyHeaderFaults(base: RequestFaults, headers: IncomingHttpHeaders): RequestFaults {
  if (!hasMockHeaders(headers)) return base;
  const fail = intHeader(headers, 'x-mock-fail', 400, 599);
  if (fail !== undefined) base.fail = fail;
  const latency = intHeader(headers, 'x-mock-latency', 0, MAX_DELAY_MS);
  if (latency !== undefined) base.latencyMs = latency;
  const ttfb = intHeader(headers, 'x-mock-ttfb', 0, MAX_DELAY_MS);
  if (ttfb !== undefined) base.ttfbMs = ttfb;
  const chunks = intHeader(headers, 'x-mock-chunks', 1, MAX_CHUNKS);
  if (chunks !== undefined) base.chunks = chunks;
  const interval = intHeader(headers, 'x-mock-chunk-interval', 0, MAX_DELAY_MS);
  if (interval !== undefined) base.chunkIntervalMs = interval;
  const stall = intHeader(headers, 'x-mock-stall', 0, MAX_DELAY_MS);
  if (stall !== undefined) base.stallMs = stall;
  const reset = headerValue(headers, 'x-mock-reset');
  if (reset !== undefined) {
    const point = reset.trim();
    if (point !== 'before-headers' && point !== 'mid-stream') {
      throw new MockRequestError(400, `Invalid x-mock-reset header ${JSON.stringify(reset)}: expected before-headers or mid-stream.`, 'x-mock-reset');
    }
    base.reset = point;
  }
  const gzip = headerValue(headers, 'x-mock-gzip');
  if (gzip !== undefined) {
    const v = gzip.trim();
    if (v !== '1' && v !== '0' && v !== 'true' && v !== 'false') {
      throw new MockRequestError(400, `Invalid x-mock-gzip header ${JSON.stringify(gzip)}: expected 1 or 0.`, 'x-mock-gzip');
    }
    base.gzip = v === '1' || v === 'true';
  }
  return base;
}

/**
 * mulberry32: a tiny seeded PRNG, so `failRate` with a `seed` fails the same requests
 * (by arrival order) on every run.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
