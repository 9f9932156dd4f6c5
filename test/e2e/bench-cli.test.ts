// `ibex bench` end to end with the built CLI: a short run (child processes for the mock, the gateway and
// the bare floor) whose JSON report must have the contract's shape and sane numbers. Speed is not
// judged here (the machine is shared); bench/BENCHMARKS.md records the budget runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';

const ROOT = join(import.meta.dirname, '../..');
/** The CLI under test; IBEX_TEST_CLI lets a wrapper stand in for bin/ibex.js. */
const CLI = process.env.IBEX_TEST_CLI ?? join(ROOT, 'bin/ibex.js');
const dir = mkdtempSync(join(tmpdir(), 'ibex-bench-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Pcts {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function expectOrdered(p: Pcts): void {
  expect(p.p50).toBeGreaterThan(0);
  expect(p.p50).toBeLessThanOrEqual(p.p90);
  expect(p.p90).toBeLessThanOrEqual(p.p99);
  expect(p.p99).toBeLessThanOrEqual(p.p999);
  expect(p.p999).toBeLessThanOrEqual(p.max);
}

describe('ibex bench (short runs)', () => {
  it('streams through mock, gateway and bare floor and writes the JSON report', async () => {
    const file = join(dir, 'stream.json');
    const r = await execa(
      'node',
      [CLI, 'bench', '--concurrency', '4', '--duration', '2s', '--warmup', '0.5s', '--upstream-latency', '10', '--stream', '--chunks', '3', '--chunk-interval', '2', '--baseline', 'bare', '--json', file, '--assert-p99-overhead', '100000'],
      { reject: false, timeout: 90_000, env: { IBEX_LOG_LEVEL: 'info' } },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    // not a TTY: plain progress lines on stderr, the report on stdout
    expect(r.stderr).toMatch(/\[gateway\] done/);
    expect(r.stdout).toMatch(/ibex gateway\s+\d+/);
    expect(r.stdout).toContain('ttfb overhead');
    expect(r.stdout).toContain('latency histogram');

    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.config).toEqual(expect.objectContaining({ concurrency: 4, durationS: 2, upstreamLatencyMs: 10, stream: true }));
    for (const phase of [report.direct, report.gateway, report.baseline]) {
      expect(phase.requests).toBeGreaterThan(0);
      expect(phase.errors).toBe(0);
      expect(phase.rps).toBeGreaterThan(0);
      expectOrdered(phase.latency);
      // nothing can be faster than the upstream's own time to first byte
      expect(phase.latency.p50).toBeGreaterThanOrEqual(10);
    }
    // every gateway response carried Server-Timing
    expect(report.gateway.serverOverhead.count).toBe(report.gateway.ok);
    expect(report.gateway.serverOverhead.p50).toBeGreaterThanOrEqual(0);
    expect(report.gateway.serverOverhead.p50).toBeLessThanOrEqual(report.gateway.serverOverhead.p99);
    expect(report.gateway.rssPeakMB).toBeGreaterThan(20);
    expect(report.gateway.rssPeakMB).toBeLessThan(2048);
    expect(report.overhead.p50).toBeCloseTo(report.gateway.latency.p50 - report.direct.latency.p50, 2);
    expect(report.overhead.p99).toBeCloseTo(report.gateway.latency.p99 - report.direct.latency.p99, 2);
    expect(report.baseline.name).toBe('bare');
    expect(report.baseline.overhead.p99).toBeCloseTo(report.baseline.latency.p99 - report.direct.latency.p99, 2);
    for (const t of [report.ttfb.direct, report.ttfb.gateway, report.ttfb.baseline]) {
      expectOrdered(t);
      expect(t.p50).toBeGreaterThanOrEqual(10);
    }
    expect(report.ttfb.overhead.p99).toBeCloseTo(report.ttfb.gateway.p99 - report.ttfb.direct.p99, 2);
    expect(report.chunkGaps.gateway.max).toBeGreaterThan(0);
    expect(report.assert).toEqual({ p99OverheadMs: 100000, actualMs: report.overhead.p99, passed: true });
  }, 120_000);

  it('exits 1 when the p99 overhead is above --assert-p99-overhead', async () => {
    const file = join(dir, 'assert.json');
    const r = await execa('node', [CLI, 'bench', '--concurrency', '2', '--duration', '1s', '--warmup', '0', '--upstream-latency', '5', '--json', file, '--assert-p99-overhead', '0', '--no-histogram'], {
      reject: false,
      timeout: 60_000,
    });
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.baseline).toBeUndefined();
    expect(report.ttfb).toBeUndefined();
    expect(report.direct.requests).toBeGreaterThan(0);
    // an extra HTTP hop is (almost) never free; whichever way it went, the exit code must agree with the report
    expect(r.exitCode, r.stderr).toBe(report.overhead.p99 > 0 ? 1 : 0);
    if (r.exitCode === 1) expect(r.stderr).toMatch(/p99 overhead .* is above --assert-p99-overhead 0 ms/);
    expect(r.stdout).not.toContain('latency histogram');
  }, 90_000);

  it('refuses bad flags with exit 2', async () => {
    const r = await execa('node', [CLI, 'bench', '--baseline', 'nginx'], { reject: false, timeout: 30_000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown --baseline');
    const d = await execa('node', [CLI, 'bench', '--duration', 'soon'], { reject: false, timeout: 30_000 });
    expect(d.exitCode).toBe(2);
    expect(d.stderr).toContain('--duration');
  }, 60_000);
});
