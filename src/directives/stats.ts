// `ibex directive stats AGENT`: outcomes per directive version, so a canary can be judged beside the
// stable version. Requests, sessions, errors, latency and tokens come from the traces (whichever
// trace store is configured); prompt-cache hits from the checkpoints (the relational store), which
// record the provider's cached prompt tokens. Cost appears when traces carry `costUsd` (the pricing
// of issue 14); without it the column is left out rather than shown as zero.
import type { DirectiveDeploy, Trace, VersionCheckpointTotals } from '../stores/ports.js';

export interface VersionStats {
  version: number;
  /** 'stable' | 'canary' | '' (no longer served to new sessions) */
  role: string;
  requests: number;
  sessions: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null };
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** null when the traces carry no cost */
  costUsd: number | null;
  cachedTokens: number;
  /** Requests whose prompt was (partly) served from the provider's cache */
  cacheHits: number;
}

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A request failed when the caller got an error status or the stream ended with an error code. */
const failed = (t: Trace) => t.status >= 400 || t.errorCode !== null;

export function versionStats(traces: Trace[], checkpoints: VersionCheckpointTotals[], deploy: DirectiveDeploy | null): VersionStats[] {
  const by = new Map<number, Trace[]>();
  for (const t of traces) {
    if (t.directiveVersion === null) continue;
    let list = by.get(t.directiveVersion);
    if (!list) by.set(t.directiveVersion, (list = []));
    list.push(t);
  }
  const cps = new Map(checkpoints.map((c) => [c.version, c]));
  const versions = [...new Set([...by.keys(), ...cps.keys()])].sort((a, b) => b - a);
  return versions.map((version) => {
    const list = by.get(version) ?? [];
    const latencies = list.map((t) => t.totalMs).sort((a, b) => a - b);
    const errors = list.filter(failed).length;
    const costs = list.map((t) => (t as Trace & { costUsd?: number | null }).costUsd).filter((c): c is number => typeof c === 'number');
    const cp = cps.get(version);
    const sum = (f: (t: Trace) => number | null) => list.reduce((s, t) => s + (f(t) ?? 0), 0);
    return {
      version,
      role: deploy?.canary?.version === version ? 'canary' : deploy?.stable === version ? 'stable' : '',
      requests: list.length,
      sessions: new Set(list.map((t) => t.sessionId).filter(Boolean)).size,
      errors,
      errorRate: list.length ? errors / list.length : 0,
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
      promptTokens: sum((t) => t.promptTokens),
      completionTokens: sum((t) => t.completionTokens),
      totalTokens: sum((t) => t.totalTokens),
      costUsd: costs.length ? costs.reduce((a, b) => a + b, 0) : null,
      cachedTokens: cp?.cachedTokens ?? 0,
      cacheHits: cp?.cacheHits ?? 0,
    };
  });
}
