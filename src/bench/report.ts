// The `ibex bench` report: the JSON document (CONTRACT.md's shape plus extras) and its terminal
// rendering (a table per phase, overheads, and latency histograms).
import { cpus, loadavg } from 'node:os';
import type { LoadResult } from './load.js';
import type { EventLoopDelay } from './gateway-metrics.js';
import type { ExternalTarget, StoresMode } from './rig.js';
import { diffPercentiles, formatMs, pick, renderHistogram, roundMs, summarize, type LatencySummary } from './stats.js';

export interface BenchConfig {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  upstreamLatencyMs: number;
  stream: boolean;
  /** streaming: content deltas per response, and the gap between them */
  chunks: number;
  chunkIntervalMs: number;
  baseline: 'bare' | null;
  assertP99OverheadMs: number | null;
  /** write a V8 CPU profile of the gateway (node --cpu-prof) into this folder */
  profileDir?: string | null;
  /** open loop at this many requests/s (`--rate`); null/undefined = closed loop at `concurrency` */
  rate?: number | null;
  /** open loop: keep-alive connections of the load generator */
  connections?: number;
  /** the gateway's stores: a throw-away embedded one, or the production ones from the environment */
  stores?: StoresMode;
  /** measure this existing gateway instead of starting one */
  target?: ExternalTarget | null;
  mockPort?: number;
  model?: string;
}

const FULL = ['p50', 'p90', 'p99', 'p999', 'max'] as const;
const OVERHEAD_KEYS = ['p50', 'p90', 'p99', 'p999'] as const;
type Full = Pick<LatencySummary, (typeof FULL)[number]>;

export interface PhaseReport {
  requests: number;
  /** successful (2xx, complete) measured requests */
  ok: number;
  errors: number;
  errorsByKind: Record<string, number>;
  rps: number;
  windowS: number;
  latency: Full & { min: number; mean: number };
  /** CPU time (user + system) of the process serving this phase per request, ms; null without /proc */
  cpuMsPerRequest: number | null;
  /** CPU time of the load generator (this process) per request, ms */
  clientCpuMsPerRequest: number | null;
}

export interface BenchReport {
  config: {
    concurrency: number;
    durationS: number;
    warmupS: number;
    /** worker starts spread over this long, within the warm-up */
    rampUpS: number;
    upstreamLatencyMs: number;
    stream: boolean;
    chunks?: number;
    chunkIntervalMs?: number;
    baseline: string | null;
    /** open loop (`--rate`): requests/s and connections; latency counts from each request's scheduled send time */
    rate?: number;
    connections?: number;
    stores: StoresMode | 'target';
    /** `--target`: the gateway measured (header names only: their values may be secrets) */
    target?: { url: string; headerNames: string[]; pid: number | null };
  };
  machine: { cpus: number; loadavg1: number; loadavgAtEnd1: number; node: string; platform: string; startedAt: string };
  direct: PhaseReport;
  gateway: PhaseReport & {
    serverOverhead: Full & { count: number };
    rssPeakMB: number | null;
    /** how late the gateway's event loop ran during its phase (from its /metrics); null if unavailable */
    eventLoopDelay: EventLoopDelay | null;
  };
  /** gateway − direct, per percentile (client-measured) */
  overhead: Record<(typeof OVERHEAD_KEYS)[number], number>;
  baseline?: PhaseReport & {
    name: string;
    overhead: Record<(typeof OVERHEAD_KEYS)[number], number>;
    /** ibex's p99 overhead divided by the floor's (the stress budget is ≤ 1.5) */
    overheadRatioP99: number | null;
  };
  ttfb?: {
    direct: Full;
    gateway: Full;
    baseline?: Full;
    overhead: Record<(typeof OVERHEAD_KEYS)[number], number>;
  };
  chunkGaps?: { direct: Full; gateway: Full; baseline?: Full };
  assert?: { p99OverheadMs: number; actualMs: number; passed: boolean };
}

export interface PhaseResults {
  direct: LoadResult;
  gateway: LoadResult;
  baseline?: LoadResult;
}

function phaseReport(r: LoadResult, cpuMsPerRequest: number | null | undefined, clientCpuMsPerRequest: number | undefined): PhaseReport {
  const s = summarize(r.latency);
  return {
    requests: r.requests,
    ok: r.ok,
    errors: r.errors,
    errorsByKind: r.errorsByKind,
    rps: Math.round(r.rps * 10) / 10,
    windowS: roundMs(r.windowMs / 1000),
    latency: { ...pick(s, FULL), min: roundMs(s.min), mean: roundMs(s.mean) },
    cpuMsPerRequest: cpuMsPerRequest == null ? null : roundMs(cpuMsPerRequest),
    clientCpuMsPerRequest: clientCpuMsPerRequest === undefined ? null : roundMs(clientCpuMsPerRequest),
  };
}

export function buildReport(
  config: BenchConfig,
  results: PhaseResults,
  extra: {
    rampUpMs?: number;
    rssPeakMB: number | null;
    startedAt: Date;
    loadavgAtStart: number;
    cpuMsPerRequest?: Partial<Record<'direct' | 'gateway' | 'bare', number | null>>;
    clientCpuMsPerRequest?: Partial<Record<'direct' | 'gateway' | 'bare', number>>;
    eventLoopDelay?: EventLoopDelay | null;
  },
): BenchReport {
  const cpu = extra.cpuMsPerRequest ?? {};
  const clientCpu = extra.clientCpuMsPerRequest ?? {};
  const direct = phaseReport(results.direct, cpu.direct, clientCpu.direct);
  const gatewayPhase = phaseReport(results.gateway, cpu.gateway, clientCpu.gateway);
  const serverOverhead = summarize(results.gateway.serverOverhead);
  const report: BenchReport = {
    config: {
      concurrency: config.concurrency,
      durationS: config.durationMs / 1000,
      warmupS: config.warmupMs / 1000,
      rampUpS: (extra.rampUpMs ?? 0) / 1000,
      upstreamLatencyMs: config.upstreamLatencyMs,
      stream: config.stream,
      ...(config.stream ? { chunks: config.chunks, chunkIntervalMs: config.chunkIntervalMs } : {}),
      baseline: config.baseline,
      ...(config.rate ? { rate: config.rate, connections: config.connections } : {}),
      stores: config.target ? 'target' : (config.stores ?? 'embedded'),
      ...(config.target ? { target: { url: config.target.url, headerNames: Object.keys(config.target.headers), pid: config.target.pid } } : {}),
    },
    machine: {
      cpus: cpus().length,
      loadavg1: roundMs(extra.loadavgAtStart),
      loadavgAtEnd1: roundMs(loadavg()[0] ?? 0),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      startedAt: extra.startedAt.toISOString(),
    },
    direct,
    gateway: {
      ...gatewayPhase,
      serverOverhead: { ...pick(serverOverhead, FULL), count: serverOverhead.count },
      rssPeakMB: extra.rssPeakMB,
      eventLoopDelay: extra.eventLoopDelay ?? null,
    },
    overhead: diffPercentiles(gatewayPhase.latency, direct.latency, OVERHEAD_KEYS),
  };

  if (results.baseline) {
    const b = phaseReport(results.baseline, cpu.bare, clientCpu.bare);
    const overhead = diffPercentiles(b.latency, direct.latency, OVERHEAD_KEYS);
    report.baseline = {
      name: config.baseline ?? 'bare',
      ...b,
      overhead,
      overheadRatioP99: overhead.p99 > 0 ? Math.round((report.overhead.p99 / overhead.p99) * 100) / 100 : null,
    };
  }

  if (config.stream) {
    const t = (r: LoadResult) => pick(summarize(r.ttfb), FULL);
    const g = (r: LoadResult) => pick(summarize(r.chunkGaps), FULL);
    report.ttfb = {
      direct: t(results.direct),
      gateway: t(results.gateway),
      overhead: diffPercentiles(t(results.gateway), t(results.direct), OVERHEAD_KEYS),
    };
    report.chunkGaps = { direct: g(results.direct), gateway: g(results.gateway) };
    if (results.baseline) {
      report.ttfb.baseline = t(results.baseline);
      report.chunkGaps.baseline = g(results.baseline);
    }
  }

  if (config.assertP99OverheadMs !== null) {
    report.assert = {
      p99OverheadMs: config.assertP99OverheadMs,
      actualMs: report.overhead.p99,
      passed: report.overhead.p99 <= config.assertP99OverheadMs,
    };
  }
  return report;
}

// ---------- terminal rendering ----------

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

const ms = (v: number | undefined) => (v === undefined ? '-' : formatMs(v));

function errorsCell(p: PhaseReport): string {
  if (p.errors === 0) return '0';
  const kinds = Object.entries(p.errorsByKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}×${n}`)
    .join(',');
  return `${p.errors} (${kinds})`;
}

export function renderReport(report: BenchReport, histograms: { name: string; sorted: ArrayLike<number> }[] = []): string {
  const out: string[] = [];
  const c = report.config;
  const load = c.rate ? `open loop at ${c.rate} req/s on ${c.connections} connections (latency from each request's scheduled start)` : `${c.concurrency} concurrent`;
  out.push(
    `ibex bench — ${load}, ${c.durationS}s per phase (+${c.warmupS}s warm-up), upstream latency ${c.upstreamLatencyMs} ms` +
      (c.stream ? `, streaming ${c.chunks} chunks ${c.chunkIntervalMs} ms apart` : ', non-streaming'),
  );
  if (c.target) out.push(`gateway under test: ${c.target.url} (not started by this run)`);
  else out.push(`gateway under test: ibex serve on ${c.stores === 'production' ? 'the production stores (Postgres, Redis, ClickHouse)' : 'a throw-away embedded store'}`);
  out.push(`machine: ${report.machine.cpus} CPUs, load ${report.machine.loadavg1} → ${report.machine.loadavgAtEnd1}, node ${report.machine.node}`);
  out.push('');

  const phases: [string, PhaseReport][] = [
    ['direct (mock)', report.direct],
    [c.target ? 'gateway' : 'ibex gateway', report.gateway],
  ];
  if (report.baseline) phases.push([`${report.baseline.name} floor`, report.baseline]);
  out.push(
    ...table(
      ['latency', 'requests', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'cpu/req', 'client cpu/req', 'errors'],
      phases.map(([name, p]) => [
        name,
        String(p.requests),
        p.rps.toFixed(0),
        ms(p.latency.p50),
        ms(p.latency.p90),
        ms(p.latency.p99),
        ms(p.latency.p999),
        ms(p.latency.max),
        p.cpuMsPerRequest === null ? '-' : ms(p.cpuMsPerRequest),
        p.clientCpuMsPerRequest === null ? '-' : ms(p.clientCpuMsPerRequest),
        errorsCell(p),
      ]),
    ),
  );
  out.push('');

  const overheadRows: string[][] = [
    ['ibex (gateway − direct)', ms(report.overhead.p50), ms(report.overhead.p90), ms(report.overhead.p99), ms(report.overhead.p999)],
  ];
  if (report.baseline) {
    const o = report.baseline.overhead;
    overheadRows.push([`${report.baseline.name} floor (floor − direct)`, ms(o.p50), ms(o.p90), ms(o.p99), ms(o.p999)]);
  }
  const so = report.gateway.serverOverhead;
  overheadRows.push([
    so.count > 0 ? 'ibex Server-Timing overhead' : 'ibex Server-Timing overhead (no header seen)',
    ms(so.p50),
    ms(so.p90),
    ms(so.p99),
    ms(so.p999),
  ]);
  out.push(...table(['overhead', 'p50', 'p90', 'p99', 'p99.9'], overheadRows));
  if (report.baseline?.overheadRatioP99 != null) out.push(`ibex p99 overhead = ${report.baseline.overheadRatioP99}× the floor's`);
  out.push('');

  if (report.ttfb && report.chunkGaps) {
    const rows: string[][] = [
      ['ttfb direct', ms(report.ttfb.direct.p50), ms(report.ttfb.direct.p90), ms(report.ttfb.direct.p99), ms(report.ttfb.direct.max)],
      ['ttfb ibex', ms(report.ttfb.gateway.p50), ms(report.ttfb.gateway.p90), ms(report.ttfb.gateway.p99), ms(report.ttfb.gateway.max)],
    ];
    if (report.ttfb.baseline) {
      const b = report.ttfb.baseline;
      rows.push(['ttfb floor', ms(b.p50), ms(b.p90), ms(b.p99), ms(b.max)]);
    }
    rows.push(['ttfb overhead (ibex − direct)', ms(report.ttfb.overhead.p50), ms(report.ttfb.overhead.p90), ms(report.ttfb.overhead.p99), '']);
    const gd = report.chunkGaps.direct;
    const gg = report.chunkGaps.gateway;
    rows.push(['chunk gap direct', ms(gd.p50), ms(gd.p90), ms(gd.p99), ms(gd.max)]);
    rows.push(['chunk gap ibex', ms(gg.p50), ms(gg.p90), ms(gg.p99), ms(gg.max)]);
    if (report.chunkGaps.baseline) {
      const gb = report.chunkGaps.baseline;
      rows.push(['chunk gap floor', ms(gb.p50), ms(gb.p90), ms(gb.p99), ms(gb.max)]);
    }
    out.push(...table(['streaming', 'p50', 'p90', 'p99', 'max'], rows));
    out.push('');
  }

  out.push('cpu/req: CPU time of the server process per request (mock, gateway or floor); client cpu/req: the load generator\'s');
  out.push(`gateway peak RSS: ${report.gateway.rssPeakMB === null ? 'unknown (needs /proc)' : `${report.gateway.rssPeakMB} MB`}`);
  const eld = report.gateway.eventLoopDelay;
  if (eld) out.push(`gateway event-loop delay during its phase: p50 ${ms(eld.p50)}, p99 ${ms(eld.p99)}, max ${ms(eld.max)}`);

  for (const h of histograms) {
    out.push('', `${h.name} latency histogram:`, ...renderHistogram(h.sorted, { buckets: 12, width: 40 }).map((l) => '  ' + l));
  }

  if (report.assert) {
    out.push(
      '',
      report.assert.passed
        ? `✓ p99 overhead ${ms(report.assert.actualMs)} ≤ ${report.assert.p99OverheadMs} ms`
        : `✗ p99 overhead ${ms(report.assert.actualMs)} > ${report.assert.p99OverheadMs} ms (--assert-p99-overhead)`,
    );
  }
  return out.join('\n') + '\n';
}
