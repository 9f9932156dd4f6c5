// The pure parts of `ibex bench --measure cpu`, `--rate`, `--target` and `--stores production`:
// medians and ratios, the round order, the report, URL and header flags, /proc parsing.
import { describe, expect, it } from 'vitest';
import { buildCpuReport, median, phaseMeasure, ratio, renderCpuReport, roundOrder, type CpuPhaseMeasure } from '../../src/bench/cpu-report.js';
import { chatCompletionsUrl, parseHeaderFlag } from '../../src/bench/rig.js';
import { productionStoreEnv } from '../../src/bench/production.js';
import { parseStatCpuMs } from '../../src/bench/rss.js';
import { dueCount } from '../../src/bench/open-load.js';
import { Samples } from '../../src/bench/stats.js';
import type { LoadResult } from '../../src/bench/load.js';

const phase = (cpu: number | null, p50 = 1, p99 = 2): CpuPhaseMeasure => ({
  cpuMsPerRequest: cpu,
  mainThreadCpuMsPerRequest: cpu === null ? null : cpu * 0.8,
  requests: 100,
  errors: 0,
  wallS: 1,
  rps: 100,
  latency: { p50, p99 },
});
const config = { requests: 100, rounds: 3, warmupRequests: 10, concurrency: 5, upstreamLatencyMs: 0, stream: false, chunks: 5, chunkIntervalMs: 10, stores: 'embedded' };

describe('median and ratio', () => {
  it('takes the middle value, the mean of the middle two for an even count, and ignores unknowns', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, 5, undefined, Number.NaN, 1, 9])).toBe(5);
    expect(median([])).toBeNull();
    expect(median([null])).toBeNull();
  });

  it('divides to 3 decimals, null without a positive divisor', () => {
    expect(ratio(0.3, 0.1)).toBe(3);
    expect(ratio(0.2, 0.3)).toBe(0.667);
    expect(ratio(null, 0.1)).toBeNull();
    expect(ratio(0.1, 0)).toBeNull();
    expect(ratio(0.1, null)).toBeNull();
  });
});

describe('cpu rounds', () => {
  it('alternates which of gateway and floor goes first, direct always first', () => {
    expect(roundOrder(0, true)).toEqual(['direct', 'gateway', 'bare']);
    expect(roundOrder(1, true)).toEqual(['direct', 'bare', 'gateway']);
    expect(roundOrder(2, true)).toEqual(['direct', 'gateway', 'bare']);
    expect(roundOrder(1, false)).toEqual(['direct', 'gateway']);
  });

  it('turns a load result and CPU deltas into per-request figures', () => {
    const latency = new Samples();
    for (let i = 1; i <= 100; i++) latency.add(i);
    const result = { requests: 200, ok: 200, errors: 0, errorsByKind: {}, windowMs: 1, rps: 1, warmupRequests: 5, latency, serverOverhead: new Samples(), ttfb: new Samples(), chunkGaps: new Samples() } as LoadResult;
    const m = phaseMeasure(result, 50, 2000, 30);
    expect(m.cpuMsPerRequest).toBe(0.25);
    expect(m.mainThreadCpuMsPerRequest).toBe(0.15);
    expect(m.rps).toBe(100);
    expect(m.latency).toEqual({ p50: 50, p99: 99 });
    expect(phaseMeasure(result, null, 2000).cpuMsPerRequest).toBeNull();
  });

  it('reports the ratio per round and the medians of CPU, ratio and latency overhead', () => {
    const rounds = [
      { order: roundOrder(0, true), direct: phase(0.05, 1, 2), gateway: phase(0.3, 3, 10), bare: phase(0.1, 2, 4) },
      { order: roundOrder(1, true), direct: phase(0.05, 1, 2), gateway: phase(0.2, 4, 8), bare: phase(0.1, 2, 5) },
      { order: roundOrder(2, true), direct: phase(0.05, 1, 2), gateway: phase(0.5, 5, 30), bare: phase(0.2, 3, 3) },
    ];
    const r = buildCpuReport(config, rounds, { startedAt: new Date(0), loadavgAtStart: 1, maxRatio: 2.5 });
    expect(r.rounds.map((x) => x.ratio)).toEqual([3, 2, 2.5]);
    expect(r.median.gatewayCpuMsPerRequest).toBe(0.3);
    expect(r.median.bareCpuMsPerRequest).toBe(0.1);
    expect(r.median.gatewayMainThreadCpuMsPerRequest).toBe(0.24);
    // the median of the per-round ratios, not the ratio of the medians (0.3 / 0.1 = 3)
    expect(r.median.ratio).toBe(2.5);
    expect(r.median.gatewayOverhead).toEqual({ p50: 3, p99: 8 });
    expect(r.median.bareOverhead).toEqual({ p50: 1, p99: 2 });
    expect(r.assert).toEqual({ maxRatio: 2.5, actual: 2.5, passed: true });
    expect(buildCpuReport(config, rounds, { startedAt: new Date(0), loadavgAtStart: 1, maxRatio: 2.4 }).assert?.passed).toBe(false);

    const text = renderCpuReport(r);
    expect(text).toContain('median ratio gateway ÷ floor:   2.50×');
    expect(text).toMatch(/^2\s+direct→bare→gateway\s+0\.200 ms\s+0\.100 ms\s+2\.00×/m);
    expect(text).toContain('✓ CPU ratio 2.5× ≤ 2.5×');
  });

  it('has no ratio when the floor was not measured or its CPU is unknown', () => {
    const r = buildCpuReport(config, [{ order: ['direct', 'gateway'], direct: phase(0.05), gateway: phase(0.3), bare: null }], { startedAt: new Date(0), loadavgAtStart: 0, maxRatio: 2 });
    expect(r.median.ratio).toBeNull();
    expect(r.median.bareOverhead).toBeNull();
    expect(r.assert).toEqual({ maxRatio: 2, actual: null, passed: false });
  });
});

describe('--target and --header', () => {
  it('accepts a base URL, a /v1 URL or the full endpoint', () => {
    expect(chatCompletionsUrl('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787/v1/chat/completions');
    expect(chatCompletionsUrl('http://127.0.0.1:8787/')).toBe('http://127.0.0.1:8787/v1/chat/completions');
    expect(chatCompletionsUrl('http://127.0.0.1:8787/v1/')).toBe('http://127.0.0.1:8787/v1/chat/completions');
    expect(chatCompletionsUrl('http://127.0.0.1:8787/gw/v1/chat/completions')).toBe('http://127.0.0.1:8787/gw/v1/chat/completions');
  });

  it('splits a header at the first colon and lower-cases its name', () => {
    expect(parseHeaderFlag('Authorization: Bearer a:b')).toEqual(['authorization', 'Bearer a:b']);
    expect(parseHeaderFlag('x-portkey-provider:openai')).toEqual(['x-portkey-provider', 'openai']);
    expect(() => parseHeaderFlag('no-colon')).toThrow(/Name:value/);
    expect(() => parseHeaderFlag(': v')).toThrow(/Name:value/);
    expect(() => parseHeaderFlag('bad name: v')).toThrow(/Name:value/);
  });
});

describe('--stores production', () => {
  it('needs all three store URLs and names the missing ones', () => {
    expect(() => productionStoreEnv({ IBEX_DATABASE_URL: 'postgres://x/db' })).toThrow(/IBEX_REDIS_URL, IBEX_CLICKHOUSE_URL/);
    const env = { IBEX_DATABASE_URL: 'postgres://x/db', IBEX_REDIS_URL: 'redis://x', IBEX_CLICKHOUSE_URL: 'http://x:8123/db', OTHER: '1' };
    expect(productionStoreEnv(env)).toEqual({ IBEX_DATABASE_URL: 'postgres://x/db', IBEX_REDIS_URL: 'redis://x', IBEX_CLICKHOUSE_URL: 'http://x:8123/db' });
  });
});

describe('open-loop schedule', () => {
  it('counts the requests due by a time, from the next unsent one', () => {
    const interval = 1e6; // 1,000 req/s
    expect(dueCount(0, 0n, interval)).toBe(1); // request 0 is due at once
    expect(dueCount(1, 999_999n, interval)).toBe(0);
    expect(dueCount(1, 1_000_000n, interval)).toBe(1);
    expect(dueCount(1, 10_500_000n, interval)).toBe(10); // 1..10
    expect(dueCount(11, 10_500_000n, interval)).toBe(0);
  });
});

describe('/proc/PID/stat', () => {
  it('reads user + system ticks after the command name, even one with spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i));
    fields[11] = '150'; // utime (field 14)
    fields[12] = '25'; // stime (field 15)
    expect(parseStatCpuMs(`1234 (node (x) y) ${fields.join(' ')}`)).toBe(1750);
    expect(parseStatCpuMs('1234 (node) S 1')).toBeNull();
  });
});
