import { describe, expect, it } from 'vitest';
import { buildReport, renderReport, type BenchConfig } from '../../src/bench/report.js';
import type { LoadResult } from '../../src/bench/load.js';
import { Samples } from '../../src/bench/stats.js';

function samples(values: number[]): Samples {
  const s = new Samples();
  for (const v of values) s.add(v);
  return s;
}

/** 100 requests with latencies base+0.01 … base+1.00 ms */
function result(base: number, opts: { serverOverhead?: number[]; stream?: boolean; errors?: Record<string, number> } = {}): LoadResult {
  const lat = Array.from({ length: 100 }, (_, i) => base + (i + 1) / 100);
  const errors = Object.values(opts.errors ?? {}).reduce((a, b) => a + b, 0);
  return {
    requests: 100 + errors,
    ok: 100,
    errors,
    errorsByKind: opts.errors ?? {},
    windowMs: 2000,
    rps: 50,
    warmupRequests: 10,
    latency: samples(lat),
    serverOverhead: samples(opts.serverOverhead ?? []),
    ttfb: samples(opts.stream ? lat.map((v) => v / 2) : []),
    chunkGaps: samples(opts.stream ? [5, 5, 6, 7] : []),
  };
}

const config: BenchConfig = {
  concurrency: 10,
  durationMs: 2000,
  warmupMs: 500,
  upstreamLatencyMs: 50,
  stream: false,
  chunks: 5,
  chunkIntervalMs: 10,
  baseline: null,
  assertP99OverheadMs: null,
};
const extra = {
  rssPeakMB: 87.5,
  startedAt: new Date('2025-01-01T00:00:00Z'),
  loadavgAtStart: 0.5,
  cpuMsPerRequest: { direct: 0.4, gateway: 1.25, bare: null },
  clientCpuMsPerRequest: { direct: 0.2, gateway: 0.21 },
  eventLoopDelay: { p50: 0.2, p99: 12.5, max: 40 },
};

describe('bench report', () => {
  it('has the CONTRACT.md shape with overhead = gateway − direct per percentile', () => {
    const r = buildReport(config, { direct: result(50), gateway: result(52, { serverOverhead: [0.2, 0.3, 0.9] }) }, extra);
    expect(r.config).toMatchObject({ concurrency: 10, durationS: 2, upstreamLatencyMs: 50, stream: false });
    expect(r.direct).toMatchObject({ requests: 100, errors: 0, rps: 50 });
    expect(Object.keys(r.direct.latency)).toEqual(expect.arrayContaining(['p50', 'p90', 'p99', 'p999', 'max']));
    expect(r.direct.latency.p50).toBe(50.5);
    expect(r.gateway.latency.p99).toBe(52.99);
    expect(r.overhead).toEqual({ p50: 2, p90: 2, p99: 2, p999: 2 });
    expect(r.gateway.serverOverhead).toMatchObject({ p50: 0.3, p99: 0.9, max: 0.9, count: 3 });
    expect(r.gateway.rssPeakMB).toBe(87.5);
    expect(r.direct.cpuMsPerRequest).toBe(0.4);
    expect(r.gateway.cpuMsPerRequest).toBe(1.25);
    expect(r.gateway.clientCpuMsPerRequest).toBe(0.21);
    expect(r.gateway.eventLoopDelay).toEqual({ p50: 0.2, p99: 12.5, max: 40 });
    expect(r.baseline).toBeUndefined();
    expect(r.ttfb).toBeUndefined();
    expect(r.assert).toBeUndefined();
  });

  it('adds the floor, its overhead and the ratio with a baseline', () => {
    const r = buildReport({ ...config, baseline: 'bare' }, { direct: result(50), gateway: result(53), baseline: result(51) }, extra);
    expect(r.baseline).toMatchObject({ name: 'bare', overhead: { p50: 1, p99: 1 }, overheadRatioP99: 3 });
    expect(r.baseline!.latency.p50).toBe(51.5);
  });

  it('adds ttfb and chunk gaps for streams', () => {
    const r = buildReport({ ...config, stream: true }, { direct: result(50, { stream: true }), gateway: result(54, { stream: true }) }, extra);
    expect(r.ttfb!.direct.p50).toBe(25.25);
    expect(r.ttfb!.gateway.p50).toBe(27.25);
    expect(r.ttfb!.overhead.p99).toBe(2);
    expect(r.chunkGaps!.gateway.max).toBe(7);
    expect(r.config.chunks).toBe(5);
  });

  it('judges --assert-p99-overhead', () => {
    const r = buildReport({ ...config, assertP99OverheadMs: 1.5 }, { direct: result(50), gateway: result(52) }, extra);
    expect(r.assert).toEqual({ p99OverheadMs: 1.5, actualMs: 2, passed: false });
    const ok = buildReport({ ...config, assertP99OverheadMs: 2 }, { direct: result(50), gateway: result(52) }, extra);
    expect(ok.assert!.passed).toBe(true);
  });

  it('renders a table per phase, the overheads, errors and histograms', () => {
    const r = buildReport(
      { ...config, baseline: 'bare', stream: true, assertP99OverheadMs: 1 },
      { direct: result(50, { stream: true }), gateway: result(52, { stream: true, errors: { http_502: 3 } }), baseline: result(51, { stream: true }) },
      extra,
    );
    const text = renderReport(r, [{ name: 'ibex gateway', sorted: r && Float64Array.from([1, 2, 3]) }]);
    expect(text).toMatch(/direct \(mock\)\s+100\s+50\s+50\.50ms/);
    expect(text).toMatch(/ibex gateway\s+103/);
    expect(text).toContain('3 (http_502×3)');
    expect(text).toMatch(/bare floor/);
    expect(text).toMatch(/ibex \(gateway − direct\)\s+2\.00ms/);
    expect(text).toContain('ttfb overhead');
    expect(text).toContain('gateway peak RSS: 87.5 MB');
    expect(text).toMatch(/ibex gateway\s+103.*1\.25ms/);
    expect(text).toContain('event-loop delay during its phase: p50 200µs, p99 12.50ms, max 40.00ms');
    expect(text).toContain('ibex gateway latency histogram:');
    expect(text).toContain('✗ p99 overhead 2.00ms > 1 ms');
  });
});
