import { describe, expect, it } from 'vitest';
import { parseProcStatus, readCpuMs, readRss, RssSampler } from '../../src/bench/rss.js';
import { parseEventLoopDelay } from '../../src/bench/gateway-metrics.js';

describe('/proc readings', () => {
  it('parses VmRSS and VmHWM from /proc/<pid>/status', () => {
    const text = 'Name:\tnode\nVmPeak:\t 1234 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t7\n';
    expect(parseProcStatus(text)).toEqual({ rssKb: 102400, hwmKb: 204800 });
    expect(parseProcStatus('Name:\tx\n')).toEqual({ rssKb: null, hwmKb: null });
  });

  it.runIf(process.platform === 'linux')('reads this process: RSS, peak and CPU time that grows with work', () => {
    const r = readRss(process.pid)!;
    expect(r.rssKb).toBeGreaterThan(1000);
    expect(r.hwmKb).toBeGreaterThanOrEqual(r.rssKb!);
    const sampler = new RssSampler(process.pid, 1000);
    expect(sampler.peakMB()).toBeGreaterThan(1);
    sampler.stop();
    const before = readCpuMs(process.pid)!;
    // Spin until 30 ms of CPU were read back (bounded by wall time): on a loaded machine this process
    // may get far less than a core, so a fixed wall-clock loop would prove nothing but the load.
    const until = Date.now() + 10_000;
    let x = 0;
    while (Date.now() < until && readCpuMs(process.pid)! < before + 30) {
      for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + 1);
    }
    expect(x).toBeGreaterThan(0);
    expect(readCpuMs(process.pid)!).toBeGreaterThanOrEqual(before + 30);
  });

  it('gives null for a process that does not exist', () => {
    expect(readRss(2 ** 22 + 12345)).toBeNull();
    expect(readCpuMs(2 ** 22 + 12345)).toBeNull();
  });
});

describe('event-loop delay from /metrics', () => {
  it('reads prom-client gauges and removes the 10 ms sampling interval', () => {
    const text = [
      '# HELP ibex_nodejs_eventloop_lag_p50_seconds The 50th percentile of the recorded event loop delays.',
      '# TYPE ibex_nodejs_eventloop_lag_p50_seconds gauge',
      'ibex_nodejs_eventloop_lag_p50_seconds 0.010321',
      'ibex_nodejs_eventloop_lag_p99_seconds 0.0345',
      'ibex_nodejs_eventloop_lag_max_seconds 0.318',
      'ibex_nodejs_eventloop_lag_min_seconds 0.009',
    ].join('\n');
    expect(parseEventLoopDelay(text)).toEqual({ p50: 0.321, p99: 24.5, max: 308 });
  });

  it('is null when the gauges are missing', () => {
    expect(parseEventLoopDelay('ibex_requests_total 3\n')).toBeNull();
  });
});
