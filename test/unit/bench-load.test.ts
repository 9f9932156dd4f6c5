import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';
import { assertLoopback, errorKind, parseServerTimingOverhead, startLoad } from '../../src/bench/load.js';
import { startBareProxy, type BareProxy } from '../../src/bench/bare-proxy.js';
import { chatBody } from '../../src/bench/run.js';
import { startOpenLoad } from '../../src/bench/open-load.js';
import { summarize } from '../../src/bench/stats.js';

const headers = { 'content-type': 'application/json', authorization: 'Bearer test' };

describe('load generator helpers', () => {
  it('parses the overhead entry of Server-Timing', () => {
    expect(parseServerTimingOverhead('overhead;dur=0.42')).toBe(0.42);
    expect(parseServerTimingOverhead('auth;dur=0.1, overhead;desc="ibex";dur=1.5, upstream;dur=50')).toBe(1.5);
    expect(parseServerTimingOverhead(['upstream;dur=3', 'overhead;dur=2'])).toBe(2);
    expect(parseServerTimingOverhead('upstream;dur=3')).toBeUndefined();
    expect(parseServerTimingOverhead(undefined)).toBeUndefined();
  });

  it('refuses anything but loopback http', () => {
    expect(() => assertLoopback('http://example.com/v1')).toThrow(/loopback/);
    expect(() => assertLoopback('http://10.0.0.1:80/')).toThrow(/loopback/);
    expect(() => assertLoopback('https://127.0.0.1/')).toThrow(/http/);
    expect(assertLoopback('http://127.0.0.1:9/x').port).toBe('9');
    expect(assertLoopback('http://localhost:9/x').hostname).toBe('localhost');
  });

  it('names errors by kind', () => {
    expect(errorKind({ code: 'ECONNREFUSED' })).toBe('connect_refused');
    expect(errorKind({ code: 'UND_ERR_HEADERS_TIMEOUT' })).toBe('timeout');
    expect(errorKind({ code: 'UND_ERR_SOCKET' })).toBe('reset');
    expect(errorKind(new Error('x'))).toBe('error');
  });
});

describe('startLoad against the mock upstream', () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream({ latencyMs: 20, ttfbMs: 20, chunks: 4, chunkIntervalMs: 5 });
  });
  afterAll(() => mock.close());

  it('keeps `concurrency` requests in flight, excludes the warm-up and stops by itself', async () => {
    mock.stats.reset();
    const started = Date.now();
    const run = startLoad({
      target: { url: `${mock.url}/chat/completions`, headers, body: chatBody(false), stream: false },
      concurrency: 4,
      durationMs: 500,
      warmupMs: 200,
    });
    expect(run.live.phase).toBe('warmup');
    const r = await run.done;
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(2500);
    expect(run.live.phase).toBe('done');
    expect(r.errors).toBe(0);
    expect(r.ok).toBe(r.requests);
    expect(r.warmupRequests).toBeGreaterThan(0);
    // 4 workers × 500 ms / ~20 ms per request ≈ 100; generous bounds for a loaded machine
    expect(r.ok).toBeGreaterThan(20);
    expect(r.ok).toBeLessThanOrEqual(4 * Math.ceil(500 / 20) + 4);
    // every request the mock saw is either warm-up or measured
    expect(mock.stats.requests).toBe(r.requests + r.warmupRequests);
    const s = summarize(r.latency);
    expect(s.count).toBe(r.ok);
    expect(s.p50).toBeGreaterThanOrEqual(20);
    expect(s.p50).toBeLessThanOrEqual(s.p99);
    expect(r.rps).toBeGreaterThan(0);
    expect(r.ttfb.length).toBe(0);
    expect(r.serverOverhead.length).toBe(0); // the mock sends no Server-Timing
  });

  it('measures streams: time to first byte before the end, gaps near the chunk interval', async () => {
    const run = startLoad({
      target: { url: `${mock.url}/chat/completions`, headers, body: chatBody(true), stream: true },
      concurrency: 2,
      durationMs: 400,
      warmupMs: 0,
    });
    const r = await run.done;
    expect(r.errors).toBe(0);
    expect(r.ok).toBeGreaterThan(2);
    const ttfb = summarize(r.ttfb);
    const total = summarize(r.latency);
    expect(ttfb.count).toBe(r.ok);
    expect(ttfb.p50).toBeGreaterThanOrEqual(20);
    // 3 paced gaps of 5 ms after the first chunk
    expect(total.p50).toBeGreaterThanOrEqual(ttfb.p50 + 10);
    expect(r.chunkGaps.length).toBeGreaterThanOrEqual(r.ok * 2);
    expect(summarize(r.chunkGaps).p50).toBeGreaterThanOrEqual(3);
  });

  it('sends exactly maxRequests measured requests, then stops', async () => {
    mock.stats.reset();
    const r = await startLoad({
      target: { url: `${mock.url}/chat/completions`, headers, body: chatBody(false), stream: false },
      concurrency: 3,
      durationMs: 60_000,
      warmupMs: 0,
      maxRequests: 10,
    }).done;
    expect(r.requests).toBe(10);
    expect(r.ok).toBe(10);
    expect(mock.stats.requests).toBe(10);
  });

  it('spreads worker starts over rampUpMs', async () => {
    const fast = await startMockUpstream({ latencyMs: 400 });
    try {
      const run = startLoad({
        target: { url: `${fast.url}/chat/completions`, headers, body: chatBody(false), stream: false },
        concurrency: 4,
        durationMs: 350,
        warmupMs: 0,
        rampUpMs: 400,
      });
      await run.done;
      // each worker sent exactly one request (400 ms each), the first ones ~100 ms apart
      const arrivals = fast.stats.recent.map((r) => r.receivedAt).sort((a, b) => a - b);
      expect(arrivals).toHaveLength(4);
      const first4 = arrivals.slice(0, 4);
      expect(first4.at(-1)! - first4[0]!).toBeGreaterThanOrEqual(250);
      for (let i = 1; i < first4.length; i++) expect(first4[i]! - first4[i - 1]!).toBeGreaterThanOrEqual(60);
    } finally {
      await fast.close();
    }
  });

  it('counts HTTP errors by status and does not record their latency', async () => {
    const failing = await startMockUpstream({ failRate: 1, failStatus: 503 });
    try {
      const r = await startLoad({
        target: { url: `${failing.url}/chat/completions`, headers, body: chatBody(false), stream: false },
        concurrency: 2,
        durationMs: 200,
        warmupMs: 0,
      }).done;
      expect(r.ok).toBe(0);
      expect(r.errors).toBeGreaterThan(0);
      expect(r.errorsByKind).toEqual({ http_503: r.errors });
      expect(r.latency.length).toBe(0);
    } finally {
      await failing.close();
    }
  });

  it('counts a closed port as connect_refused without spinning', async () => {
    const gone = await startMockUpstream();
    const url = `${gone.url}/chat/completions`;
    await gone.close();
    const r = await startLoad({ target: { url, headers, body: chatBody(false), stream: false }, concurrency: 2, durationMs: 300, warmupMs: 0 }).done;
    expect(r.ok).toBe(0);
    expect(r.errorsByKind.connect_refused).toBeGreaterThan(0);
    // 10 ms pause after each refusal: at most ~30 per worker
    expect(r.errors).toBeLessThan(100);
  });
});

describe('startOpenLoad (fixed rate)', () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream({ latencyMs: 5, ttfbMs: 5, chunks: 3, chunkIntervalMs: 2 });
  });
  afterAll(() => mock.close());

  it('sends at the rate whatever the server does, and excludes the warm-up', async () => {
    mock.stats.reset();
    const r = await startOpenLoad({
      target: { url: `${mock.url}/chat/completions`, headers, body: chatBody(false), stream: false },
      rate: 200,
      connections: 4,
      durationMs: 500,
      warmupMs: 100,
    }).done;
    // 200/s × 0.5 s measured, 200/s × 0.1 s warm-up: the schedule, not the server, decides the count
    expect(r.requests).toBe(100);
    expect(r.warmupRequests).toBe(20);
    expect(r.errors).toBe(0);
    expect(r.ok).toBe(100);
    expect(mock.stats.requests).toBe(120);
    expect(summarize(r.latency).p50).toBeGreaterThanOrEqual(5);
  });

  it('counts latency from the scheduled send time, so queueing behind busy connections shows', async () => {
    const slow = await startMockUpstream({ latencyMs: 100 });
    try {
      // one connection, 100 ms per request, 50 requests/s: each request waits for the ones before it
      const r = await startOpenLoad({
        target: { url: `${slow.url}/chat/completions`, headers, body: chatBody(false), stream: false },
        rate: 50,
        connections: 1,
        durationMs: 200,
        warmupMs: 0,
      }).done;
      expect(r.requests).toBe(10);
      const s = summarize(r.latency);
      expect(s.count).toBe(10);
      // the 10th request was scheduled at 180 ms and served after the 9 before it: ≥ 1 s − 180 ms
      expect(s.max).toBeGreaterThan(700);
    } finally {
      await slow.close();
    }
  });

  it('drops requests above maxInflight as "overload" instead of queueing without bound', async () => {
    const slow = await startMockUpstream({ latencyMs: 300 });
    try {
      const r = await startOpenLoad({
        target: { url: `${slow.url}/chat/completions`, headers, body: chatBody(false), stream: false },
        rate: 100,
        connections: 1,
        durationMs: 200,
        warmupMs: 0,
        maxInflight: 3,
      }).done;
      expect(r.requests).toBe(20);
      expect(r.errorsByKind.overload).toBeGreaterThanOrEqual(15);
      expect(r.ok + r.errors).toBe(20);
    } finally {
      await slow.close();
    }
  });

  it('measures streams from the schedule too', async () => {
    const r = await startOpenLoad({
      target: { url: `${mock.url}/chat/completions`, headers, body: chatBody(true), stream: true },
      rate: 100,
      durationMs: 200,
      warmupMs: 0,
    }).done;
    expect(r.errors).toBe(0);
    expect(r.ok).toBe(20);
    expect(r.ttfb.length).toBe(20);
    expect(r.chunkGaps.length).toBeGreaterThanOrEqual(20);
  });
});

describe('bare proxy (the floor)', () => {
  let mock: MockUpstream;
  let proxy: BareProxy;
  beforeAll(async () => {
    mock = await startMockUpstream({ latencyMs: 5, ttfbMs: 5, chunks: 3, chunkIntervalMs: 2 });
    proxy = await startBareProxy({ upstreamUrl: mock.url, connections: 8 });
  });
  afterAll(async () => {
    await proxy.close();
    await mock.close();
  });

  it('passes the body through unchanged and returns the upstream reply', async () => {
    const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers, body: chatBody(false) });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    const echoed = JSON.parse(json.choices[0]!.message.content.slice('echo:'.length));
    expect(echoed).toEqual([{ role: 'user', content: 'Benchmark request: say hello.' }]);
    expect(mock.stats.lastRequest?.headers.authorization).toBe('Bearer test');
  });

  it('pipes streams chunk by chunk to the end', async () => {
    const r = await startLoad({
      target: { url: `${proxy.url}/v1/chat/completions`, headers, body: chatBody(true), stream: true },
      concurrency: 2,
      durationMs: 300,
      warmupMs: 0,
    }).done;
    expect(r.errors).toBe(0);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.chunkGaps.length).toBeGreaterThan(0);
  });

  it('passes upstream errors through with their status and retry-after', async () => {
    const failing = await startMockUpstream({ failRate: 1, failStatus: 429 });
    const failingProxy = await startBareProxy({ upstreamUrl: failing.url, connections: 2 });
    try {
      const res = await fetch(`${failingProxy.url}/v1/chat/completions`, { method: 'POST', headers, body: chatBody(false) });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    } finally {
      await failingProxy.close();
      await failing.close();
    }
  });
});
