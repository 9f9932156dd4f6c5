// The `ibex bench --measure cpu` report: CPU time per request of the gateway process and of the bare
// floor, each over the same fixed number of requests, in several rounds of one run, and the median of
// the rounds with the ratio. CPU time per request does not depend on how much of the machine other
// processes left, which is why it holds where a p99 ratio of two phases on shared cores does not.
import { cpus, loadavg } from 'node:os';
import { formatMs, roundMs, summarize } from './stats.js';
import type { LoadResult } from './load.js';
import type { PhaseName } from './rig.js';

export interface CpuBenchConfig {
  /** measured requests per phase and round */
  requests: number;
  rounds: number;
  /** unmeasured requests before each measured phase */
  warmupRequests: number;
  concurrency: number;
  upstreamLatencyMs: number;
  stream: boolean;
  chunks: number;
  chunkIntervalMs: number;
}

export interface CpuPhaseMeasure {
  /** CPU ms (user + system, all threads) of the serving process per measured request; null without /proc or pid */
  cpuMsPerRequest: number | null;
  /** of which the main thread (the event loop); the rest is worker, GC and compiler threads */
  mainThreadCpuMsPerRequest: number | null;
  requests: number;
  errors: number;
  wallS: number;
  rps: number;
  latency: { p50: number; p99: number };
}

export interface CpuRound {
  /** phases in the order they ran (the gateway and the floor alternate who goes first) */
  order: PhaseName[];
  direct: CpuPhaseMeasure;
  gateway: CpuPhaseMeasure;
  bare: CpuPhaseMeasure | null;
  /** gateway CPU per request ÷ the floor's */
  ratio: number | null;
}

export interface CpuBenchReport {
  mode: 'cpu';
  config: CpuBenchConfig & { stores: string; target?: { url: string; headerNames: string[]; pid: number | null } };
  machine: { cpus: number; loadavg1: number; loadavgAtEnd1: number; node: string; platform: string; startedAt: string };
  rounds: CpuRound[];
  /** medians over the rounds */
  median: {
    gatewayCpuMsPerRequest: number | null;
    /** of which its main thread */
    gatewayMainThreadCpuMsPerRequest: number | null;
    bareCpuMsPerRequest: number | null;
    bareMainThreadCpuMsPerRequest: number | null;
    /** median of the per-round ratios */
    ratio: number | null;
    /** client-measured latency overhead over direct, median over rounds (ms) */
    gatewayOverhead: { p50: number; p99: number };
    bareOverhead: { p50: number; p99: number } | null;
  };
  assert?: { maxRatio: number; actual: number | null; passed: boolean };
}

/** Median of the numbers (mean of the middle two for an even count); null when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** a ÷ b to 3 decimals; null unless both are known and b > 0. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !(b > 0)) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/** The phase order of round `i` (0-based): the gateway and the floor swap places every round, so a drift in the machine's load over the run does not always favour the same one. */
export function roundOrder(i: number, withBare: boolean): PhaseName[] {
  if (!withBare) return ['direct', 'gateway'];
  return i % 2 === 0 ? ['direct', 'gateway', 'bare'] : ['direct', 'bare', 'gateway'];
}

export function phaseMeasure(result: LoadResult, cpuMs: number | null, wallMs: number, mainThreadCpuMs: number | null = null): CpuPhaseMeasure {
  const s = summarize(result.latency);
  const n = result.requests;
  return {
    cpuMsPerRequest: cpuMs === null || n === 0 ? null : roundMs(cpuMs / n),
    mainThreadCpuMsPerRequest: mainThreadCpuMs === null || n === 0 ? null : roundMs(mainThreadCpuMs / n),
    requests: n,
    errors: result.errors,
    wallS: roundMs(wallMs / 1000),
    rps: Math.round((n * 1000 * 10) / Math.max(1, wallMs)) / 10,
    latency: { p50: roundMs(s.p50), p99: roundMs(s.p99) },
  };
}

export function buildCpuReport(
  config: CpuBenchReport['config'],
  rounds: Omit<CpuRound, 'ratio'>[],
  extra: { startedAt: Date; loadavgAtStart: number; maxRatio: number | null },
): CpuBenchReport {
  const full: CpuRound[] = rounds.map((r) => ({ ...r, ratio: ratio(r.gateway.cpuMsPerRequest, r.bare?.cpuMsPerRequest ?? null) }));
  const over = (r: CpuRound, p: CpuPhaseMeasure | null, k: 'p50' | 'p99') => (p ? p.latency[k] - r.direct.latency[k] : null);
  const withBare = full.every((r) => r.bare !== null) && full.length > 0;
  const m = (xs: (number | null)[]) => {
    const v = median(xs);
    return v === null ? null : roundMs(v);
  };
  const report: CpuBenchReport = {
    mode: 'cpu',
    config,
    machine: {
      cpus: cpus().length,
      loadavg1: roundMs(extra.loadavgAtStart),
      loadavgAtEnd1: roundMs(loadavg()[0] ?? 0),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      startedAt: extra.startedAt.toISOString(),
    },
    rounds: full,
    median: {
      gatewayCpuMsPerRequest: m(full.map((r) => r.gateway.cpuMsPerRequest)),
      gatewayMainThreadCpuMsPerRequest: m(full.map((r) => r.gateway.mainThreadCpuMsPerRequest)),
      bareCpuMsPerRequest: withBare ? m(full.map((r) => r.bare!.cpuMsPerRequest)) : null,
      bareMainThreadCpuMsPerRequest: withBare ? m(full.map((r) => r.bare!.mainThreadCpuMsPerRequest)) : null,
      ratio: m(full.map((r) => r.ratio)),
      gatewayOverhead: { p50: m(full.map((r) => over(r, r.gateway, 'p50'))) ?? 0, p99: m(full.map((r) => over(r, r.gateway, 'p99'))) ?? 0 },
      bareOverhead: withBare ? { p50: m(full.map((r) => over(r, r.bare, 'p50'))) ?? 0, p99: m(full.map((r) => over(r, r.bare, 'p99'))) ?? 0 } : null,
    },
  };
  if (extra.maxRatio !== null) {
    const actual = report.median.ratio;
    report.assert = { maxRatio: extra.maxRatio, actual, passed: actual !== null && actual <= extra.maxRatio };
  }
  return report;
}

const cpuCell = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(3)} ms`);

export function renderCpuReport(r: CpuBenchReport): string {
  const c = r.config;
  const out: string[] = [];
  out.push(
    `ibex bench --measure cpu — ${c.rounds} rounds × ${c.requests} requests per phase (+${c.warmupRequests} warm-up), ${c.concurrency} concurrent, upstream latency ${c.upstreamLatencyMs} ms, ` +
      (c.stream ? `streaming ${c.chunks} chunks ${c.chunkIntervalMs} ms apart` : 'non-streaming'),
  );
  out.push(c.target ? `gateway under test: ${c.target.url}${c.target.pid ? ` (pid ${c.target.pid})` : ''}` : `gateway under test: ibex serve on ${c.stores === 'production' ? 'the production stores' : 'a throw-away embedded store'}`);
  out.push(`machine: ${r.machine.cpus} CPUs, load ${r.machine.loadavg1} → ${r.machine.loadavgAtEnd1}, node ${r.machine.node}`, '');
  const header = ['round', 'order', 'gateway cpu/req', 'floor cpu/req', 'ratio', 'mock cpu/req', 'gateway p50/p99', 'floor p50/p99', 'direct p50/p99'];
  const rows = r.rounds.map((x, i) => [
    String(i + 1),
    x.order.join('→'),
    cpuCell(x.gateway.cpuMsPerRequest),
    cpuCell(x.bare?.cpuMsPerRequest),
    x.ratio === null ? '-' : `${x.ratio.toFixed(2)}×`,
    cpuCell(x.direct.cpuMsPerRequest),
    `${formatMs(x.gateway.latency.p50)} / ${formatMs(x.gateway.latency.p99)}`,
    x.bare ? `${formatMs(x.bare.latency.p50)} / ${formatMs(x.bare.latency.p99)}` : '-',
    `${formatMs(x.direct.latency.p50)} / ${formatMs(x.direct.latency.p99)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  out.push(line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line), '');
  const m = r.median;
  const main = (v: number | null) => (v === null ? '' : ` (main thread ${cpuCell(v)})`);
  out.push(`median gateway CPU per request: ${cpuCell(m.gatewayCpuMsPerRequest)}${main(m.gatewayMainThreadCpuMsPerRequest)}`);
  if (m.bareCpuMsPerRequest !== null) out.push(`median floor CPU per request:   ${cpuCell(m.bareCpuMsPerRequest)}${main(m.bareMainThreadCpuMsPerRequest)}`);
  if (m.ratio !== null) out.push(`median ratio gateway ÷ floor:   ${m.ratio.toFixed(2)}×`);
  out.push(`median latency overhead over direct: gateway p50 ${formatMs(m.gatewayOverhead.p50)}, p99 ${formatMs(m.gatewayOverhead.p99)}` + (m.bareOverhead ? `; floor p50 ${formatMs(m.bareOverhead.p50)}, p99 ${formatMs(m.bareOverhead.p99)}` : ''));
  const errors = r.rounds.reduce((n, x) => n + x.direct.errors + x.gateway.errors + (x.bare?.errors ?? 0), 0);
  if (errors > 0) out.push(`errors: ${errors} (see the JSON report)`);
  out.push('cpu/req: user + system CPU time of the serving process (all its threads) per measured request, from /proc/PID/stat');
  if (r.assert) {
    out.push('', r.assert.passed ? `✓ CPU ratio ${r.assert.actual}× ≤ ${r.assert.maxRatio}×` : `✗ CPU ratio ${r.assert.actual ?? 'unknown'}× > ${r.assert.maxRatio}× (--assert-cpu-ratio)`);
  }
  return out.join('\n') + '\n';
}
