#!/usr/bin/env node
// Checks `ibex bench --json` reports against the budgets of issue 7; exit 1 if one is missed.
//   node bench/check-budgets.mjs REPORT.json...
// A report is judged by what it measured: latency 500 non-streaming → seed budget; latency 50
// non-streaming → stress budgets; --stream → TTFB budget. Every report: gateway RSS ≤ 200 MB.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/check-budgets.mjs REPORT.json...');
  process.exit(2);
}
let failed = 0;
const line = (ok, text) => {
  if (!ok) failed++;
  console.log(`${ok ? '✓' : '✗'} ${text}`);
};
const f = (v) => (v == null ? 'n/a' : `${Number(v).toFixed(3)} ms`);
for (const file of files) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const c = r.config;
  console.log(`\n${file}: ${c.concurrency} concurrent, ${c.durationS}s, upstream ${c.upstreamLatencyMs} ms${c.stream ? ', stream' : ''}; load ${r.machine.loadavg1} → ${r.machine.loadavgAtEnd1} on ${r.machine.cpus} CPUs`);
  line(r.gateway.errors === 0 && r.direct.errors === 0, `no errors (direct ${r.direct.errors}, gateway ${r.gateway.errors})`);
  if (!c.stream && c.upstreamLatencyMs >= 500) {
    line(r.overhead.p99 <= 20, `seed: client p99 overhead ${f(r.overhead.p99)} ≤ 20 ms${r.overhead.p99 <= 2 ? ' (and ≤ 2 ms aim)' : ''}`);
  }
  if (!c.stream && c.upstreamLatencyMs <= 50) {
    line(r.gateway.serverOverhead.p99 <= 1, `stress: Server-Timing p99 ${f(r.gateway.serverOverhead.p99)} ≤ 1 ms`);
    if (r.baseline) {
      const bound = 1.5 * r.baseline.overhead.p99;
      line(r.overhead.p99 <= bound, `stress: client p99 overhead ${f(r.overhead.p99)} ≤ 1.5 × floor's ${f(r.baseline.overhead.p99)} = ${f(bound)}`);
    } else line(false, 'stress: no --baseline bare in this report, cannot compare with the floor');
  }
  if (c.stream) line(r.ttfb.overhead.p99 <= 5, `stream: TTFB p99 overhead ${f(r.ttfb.overhead.p99)} ≤ 5 ms`);
  line(r.gateway.rssPeakMB !== null && r.gateway.rssPeakMB <= 200, `gateway peak RSS ${r.gateway.rssPeakMB} MB ≤ 200 MB`);
}
process.exit(failed ? 1 : 0);
