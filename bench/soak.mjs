#!/usr/bin/env node
// Soak: a bounded run of steady load (non-streaming and streaming at once) through the full pipeline on
// an embedded gateway, sampling the gateway's RSS. Judged: RSS after warm-up vs at the end within ±5 %
// (issue 18), no errors. With --rate N the load is an open loop at a steady N req/s non-streaming plus
// N/4 streaming (src/bench/open-load.ts); without it, closed-loop workers as before.
// Loopback only; stops by itself. Run after `npm run build`:
//   node bench/soak.mjs [--minutes 10] [--warmup-s 60] [--rate 0] [--concurrency 24] [--stream-concurrency 8]
//                       [--upstream-latency 20] [--json bench/results/soak.json]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = (p) => new URL(`../dist/src/${p}`, import.meta.url).href;
const { startChild, stopAll, ibexBin, embeddedEnv } = await import(dist('bench/children.js'));
const { startLoad } = await import(dist('bench/load.js'));
const { startOpenLoad } = await import(dist('bench/open-load.js'));
const { readRss } = await import(dist('bench/rss.js'));
const { loadConfig } = await import(dist('config.js'));
const { openStores } = await import(dist('stores/factory.js'));
const { createAgent, createPat } = await import(dist('ops/identity.js'));
const { setDirective } = await import(dist('ops/directives.js'));

const { values: a } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'warmup-s': { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '24' },
    'stream-concurrency': { type: 'string', default: '8' },
    'upstream-latency': { type: 'string', default: '20' },
    rate: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
const minutes = Number(a.minutes);
const warmupMs = Number(a['warmup-s']) * 1000;
const durationMs = minutes * 60_000;

const home = mkdtempSync(join(tmpdir(), 'ibex-soak-'));
const children = [];
try {
  const stores = await openStores(loadConfig({ home }, { ...process.env, IBEX_DATABASE_URL: '', IBEX_REDIS_URL: '', IBEX_CLICKHOUSE_URL: '' }));
  await stores.migrate();
  await createAgent(stores, { name: 'soak', rpm: 10_000_000 }); // a limit, never reached: the limiter runs
  await setDirective(stores, 'soak', 'You are the soak directive.');
  const { token } = await createPat(stores, { agents: ['soak'], name: 'soak' });
  await stores.close();

  const latency = a['upstream-latency'];
  const mock = await startChild({ name: 'mock upstream', args: [ibexBin(), 'mock-upstream', '--port', '0', '--latency', latency, '--ttfb', latency, '--chunks', '10', '--chunk-interval', '2'] });
  children.push(mock);
  const gateway = await startChild({
    name: 'gateway',
    args: [ibexBin(), 'serve', '--port', '0', '--host', '127.0.0.1'],
    env: embeddedEnv(home, { IBEX_UPSTREAM_URL: mock.url, OPENAI_API_KEY: 'sk-soak' }),
  });
  children.push(gateway);

  const target = (stream) => ({
    url: `${gateway.url}/v1/chat/completions`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'soak '.repeat(40) }] }),
    stream,
  });
  const samples = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    const r = readRss(gateway.pid);
    if (r?.rssKb) samples.push({ t: Date.now() - t0, rssMB: r.rssKb / 1024 });
    const last = samples[samples.length - 1];
    process.stderr.write(`\r${((Date.now() - t0) / 60_000).toFixed(1)} / ${minutes} min  gateway RSS ${last?.rssMB.toFixed(1) ?? '?'} MB   `);
  }, 5000);
  const loadavgAtStart = loadavg()[0];
  const rate = Number(a.rate);
  const runs =
    rate > 0
      ? [
          startOpenLoad({ target: target(false), rate, connections: 32, durationMs, warmupMs }),
          startOpenLoad({ target: target(true), rate: Math.max(1, Math.round(rate / 4)), connections: 16, durationMs, warmupMs }),
        ]
      : [
          startLoad({ target: target(false), concurrency: Number(a.concurrency), durationMs, warmupMs, rampUpMs: Number(latency) }),
          startLoad({ target: target(true), concurrency: Number(a['stream-concurrency']), durationMs, warmupMs, rampUpMs: Number(latency) }),
        ];
  const [plain, stream] = await Promise.all(runs.map((r) => r.done));
  clearInterval(timer);
  process.stderr.write('\n');

  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  const inWindow = (from, to) => samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssMB);
  // After warm-up: the first 30 s of the measured run; at the end: its last 30 s.
  const afterWarmup = median(inWindow(warmupMs, warmupMs + 30_000));
  const atEnd = median(inWindow(warmupMs + durationMs - 30_000, Infinity));
  const growthPct = ((atEnd - afterWarmup) / afterWarmup) * 100;
  const report = {
    config: { minutes, warmupS: warmupMs / 1000, rate: rate || null, concurrency: Number(a.concurrency), streamConcurrency: Number(a['stream-concurrency']), upstreamLatencyMs: Number(latency) },
    machine: { loadavg1AtStart: loadavgAtStart, loadavg1AtEnd: loadavg()[0] },
    requests: { plain: plain.requests, stream: stream.requests, errors: plain.errors + stream.errors, errorsByKind: { ...plain.errorsByKind, ...stream.errorsByKind }, rps: plain.rps + stream.rps },
    rss: { afterWarmupMB: afterWarmup, atEndMB: atEnd, growthPct, peakMB: Math.max(...samples.map((s) => s.rssMB)), samples },
    pass: Math.abs(growthPct) <= 5 && plain.errors + stream.errors === 0,
  };
  if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 2));
  console.log(
    `soak ${minutes} min: ${report.requests.plain + report.requests.stream} requests (${report.requests.rps.toFixed(0)}/s), ${report.requests.errors} errors; ` +
      `gateway RSS ${afterWarmup.toFixed(1)} MB after warm-up → ${atEnd.toFixed(1)} MB at the end (${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)} %), peak ${report.rss.peakMB.toFixed(1)} MB: ${report.pass ? 'PASS' : 'FAIL'}`,
  );
  process.exitCode = report.pass ? 0 : 1;
} finally {
  await stopAll(children);
  rmSync(home, { recursive: true, force: true });
}
