import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics, RequestCounter, RequestHistogram } from '../../src/metrics.js';
import type { Trace } from '../../src/stores/ports.js';

function trace(over: Partial<Trace> = {}): Trace {
  return {
    requestId: 'r1', sessionId: 's1', agent: 'alpha', patId: 'p1', model: 'gpt-x', provider: 'openai',
    stream: false, status: 200, errorCode: null, startedAt: Date.now(), totalMs: 42, upstreamTtfbMs: 40,
    upstreamMs: 41, overheadMs: 0.3, stages: {}, promptTokens: 1, completionTokens: 2, totalTokens: 3,
    bytesIn: 10, bytesOut: 20, directiveVersion: null,
    clientRequestId: null, cachedTokens: null, reasoningTokens: null, costUsd: null, ...over,
  };
}

describe('createMetrics', () => {
  it('renders every ibex metric name in the Prometheus text format', async () => {
    const m = createMetrics();
    m.recordRequest(trace());
    m.recordAuthLookup('hit');
    m.recordDropped('traces', 2);
    m.recordRateLimitFailOpen();
    m.recordRevocationPropagation(12);
    m.registerQueue('checkpoints', () => ({ depth: 3, spoolBytes: 1024 }));
    const text = await m.render();
    for (const name of [
      'ibex_requests_total', 'ibex_request_duration_seconds_bucket', 'ibex_overhead_duration_seconds_bucket',
      'ibex_upstream_ttfb_seconds_bucket', 'ibex_auth_cache_lookups_total', 'ibex_queue_depth', 'ibex_spool_bytes',
      'ibex_dropped_total', 'ibex_rate_limit_fail_open_total', 'ibex_revocation_propagation_seconds_bucket',
      // default Node metrics on the dedicated registry
      'ibex_process_resident_memory_bytes', 'ibex_nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(m.contentType).toMatch(/text\/plain/);
  });

  it('counts requests by status and agent and observes durations in seconds', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.recordRequest(trace());
    m.recordRequest(trace());
    m.recordRequest(trace({ status: 429, agent: 'beta', stream: true, totalMs: 5, overheadMs: 0.2, upstreamTtfbMs: null }));
    const text = await m.render();
    expect(text).toContain('ibex_requests_total{status="200",agent="alpha"} 2');
    expect(text).toContain('ibex_requests_total{status="429",agent="beta"} 1');
    expect(text).toContain('ibex_request_duration_seconds_count{stream="false"} 2');
    expect(text).toContain('ibex_request_duration_seconds_count{stream="true"} 1');
    // 0.2 ms falls into the 0.25 ms bucket, the two 0.3 ms only into the 0.5 ms one
    expect(text).toContain('ibex_overhead_duration_seconds_bucket{le="0.00025"} 1');
    expect(text).toContain('ibex_overhead_duration_seconds_bucket{le="0.0005"} 3');
    // a null upstream TTFB (rejected before upstream) is not observed
    expect(text).toContain('ibex_upstream_ttfb_seconds_count{stream="false"} 2');
    expect(text).not.toContain('ibex_upstream_ttfb_seconds_count{stream="true"}');
  });

  it('reads queue levels and custom collectors at scrape time, not before', async () => {
    const m = createMetrics({ defaultMetrics: false });
    let depth = 1;
    let reads = 0;
    m.registerQueue('traces', () => {
      reads++;
      return { depth, spoolBytes: depth * 100 };
    });
    expect(reads).toBe(0);
    depth = 7;
    let text = await m.render();
    expect(reads).toBe(1);
    expect(text).toContain('ibex_queue_depth{queue="traces"} 7');
    expect(text).toContain('ibex_spool_bytes{queue="traces"} 700');

    let lag = 5;
    const unregister = m.registerCollector(() => m.queueDepth.set({ queue: 'checkpoints' }, lag));
    text = await m.registry.metrics(); // the plain registry call also runs the collectors
    expect(text).toContain('ibex_queue_depth{queue="checkpoints"} 5');
    unregister();
    lag = 9;
    text = await m.render();
    expect(text).toContain('ibex_queue_depth{queue="checkpoints"} 5');
  });

  it('keeps /metrics working when a collector throws', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.registerCollector(() => {
      throw new Error('boom');
    });
    m.registerQueue('traces', () => ({ depth: 2, spoolBytes: 0 }));
    await expect(m.render()).resolves.toContain('ibex_queue_depth{queue="traces"} 2');
  });

  it('gives each instance its own registry', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordAuthLookup('bloom_reject');
    expect(await a.render()).toContain('ibex_auth_cache_lookups_total{result="bloom_reject"} 1');
    expect(await b.render()).toContain('ibex_auth_cache_lookups_total{result="bloom_reject"} 0');
  });

  it("renders its own per-request histograms and counter exactly as prom-client's would", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const buckets = [0.001, 0.01, 0.1];
    const h1 = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['stream'], buckets, registers: [theirs] });
    const h2 = new RequestHistogram('x_seconds', 'h', 'stream', buckets, ours);
    const o1 = new Histogram({ name: 'o_seconds', help: 'o', buckets, registers: [theirs] });
    const o2 = new RequestHistogram('o_seconds', 'o', null, buckets, ours);
    const c1 = new Counter({ name: 'c_total', help: 'c', labelNames: ['status', 'agent'], registers: [theirs] });
    const c2 = new RequestCounter('c_total', 'c', ours);
    h2.child('false'); // created but never observed: no series, as with prom-client
    for (const v of [0.0005, 0.001, 0.05, 3, 0.02, Number.NaN]) {
      if (Number.isFinite(v)) {
        h1.labels('true').observe(v);
        o1.observe(v);
      }
      h2.child('true').observe(v); // NaN is ignored (prom-client would throw)
      o2.child().observe(v);
    }
    for (const [status, agent] of [[200, 'a'], [200, 'a'], [429, 'b']] as const) {
      c1.labels(String(status), agent).inc();
      c2.inc(status, agent);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('x_seconds_bucket{le="0.001",stream="true"} 2');
  });
});
