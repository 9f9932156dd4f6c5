// Header numbers of `ibex tail`: requests/s, error rate and p99 latency over a sliding window
// (60 s by default). Pure functions over samples kept in arrival order, so they are easy to test
// and the UI decides when to pay for them (once per render, not once per event).
import type { Trace } from '../stores/ports.js';

export const STATS_WINDOW_MS = 60_000;

export interface Sample {
  /** When the trace was received, local clock (ms): immune to skew between gateway and tail hosts */
  at: number;
  totalMs: number;
  error: boolean;
  agent: string | null;
}

export interface WindowStats {
  /** samples inside the window */
  count: number;
  requestsPerSecond: number;
  /** 0..1; 0 when there are no samples */
  errorRate: number;
  /** nearest-rank p99 of totalMs; null when there are no samples */
  p99Ms: number | null;
}

/** An error for the client: an HTTP error status, or a 200 stream that ended with an error code. */
export function isErrorTrace(t: Pick<Trace, 'status' | 'errorCode'>): boolean {
  return t.status >= 400 || t.errorCode !== null;
}

export function toSample(t: Trace, at: number): Sample {
  return { at, totalMs: t.totalMs, error: isErrorTrace(t), agent: t.agent };
}

/**
 * Removes, in place, the samples older than the window (samples are in arrival order, so they
 * are a prefix). Returns how many were removed.
 */
export function pruneSamples(samples: Sample[], now: number, windowMs = STATS_WINDOW_MS): number {
  const cutoff = now - windowMs;
  let i = 0;
  while (i < samples.length && samples[i]!.at <= cutoff) i++;
  if (i > 0) samples.splice(0, i);
  return i;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface WindowOptions {
  windowMs?: number;
  /**
   * When watching began: until a whole window has passed, requests/s divides by the time
   * actually observed, not by 60 s (which would understate the rate at start).
   */
  since?: number;
  /** Only samples of this agent */
  agent?: string | null;
}

export function windowStats(samples: readonly Sample[], now: number, opts: WindowOptions = {}): WindowStats {
  const windowMs = opts.windowMs ?? STATS_WINDOW_MS;
  const cutoff = now - windowMs;
  const agent = opts.agent ?? null;
  const latencies: number[] = [];
  let errors = 0;
  for (const s of samples) {
    if (s.at <= cutoff || s.at > now) continue;
    if (agent !== null && s.agent !== agent) continue;
    latencies.push(s.totalMs);
    if (s.error) errors++;
  }
  const count = latencies.length;
  const observedMs = opts.since === undefined ? windowMs : Math.min(windowMs, now - opts.since);
  // At least one second, so the first event does not read as thousands of requests per second.
  const seconds = Math.max(1, observedMs / 1000);
  return {
    count,
    requestsPerSecond: count / seconds,
    errorRate: count === 0 ? 0 : errors / count,
    p99Ms: percentile(latencies, 99),
  };
}
