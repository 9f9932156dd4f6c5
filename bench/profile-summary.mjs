#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof, `ibex bench --profile DIR`): the functions with the
// most self time, the most inclusive time (self + what they called), and the share of self time per
// file, so the hot path's costs can be read in a terminal. Shares are of the *busy* time (idle and
// the profiler's own "(program)" samples left out), which is what CPU per request is made of.
//   node bench/profile-summary.mjs PROFILE.cpuprofile [TOP=25] [--json OUT]
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
const [file, topArg] = args;
if (!file) {
  console.error('usage: node bench/profile-summary.mjs PROFILE.cpuprofile [TOP] [--json OUT]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const where = (cf) => (cf.url ? cf.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(dist|src)\//, '$1/') : '(native)');
const keyOf = (cf) => `${cf.functionName || '(anonymous)'}  ${where(cf)}:${cf.lineNumber + 1}`;
const IDLE = new Set(['(idle)', '(program)']);

const selfUs = new Map();
const dts = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (dts[i] ?? 0));
}
let busy = 0;
let idle = 0;
const fnSelf = new Map();
const fnTotal = new Map();
const files = new Map();
for (const [id, us] of selfUs) {
  const { callFrame: cf } = byId.get(id);
  if (IDLE.has(cf.functionName)) {
    idle += us;
    continue;
  }
  busy += us;
  const key = keyOf(cf);
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const w = where(cf);
  const pkg = w.startsWith('node_modules/') ? w.split('/').slice(0, w.split('/')[1].startsWith('@') ? 3 : 2).join('/') : w.startsWith('node:') ? 'node:*' : w;
  files.set(pkg, (files.get(pkg) ?? 0) + us);
  // inclusive: every distinct function on the stack gets the sample once
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const k = keyOf(byId.get(n).callFrame);
    if (seen.has(k) || k.startsWith('(root)')) continue;
    seen.add(k);
    fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
  }
}
const pct = (us) => ((100 * us) / busy).toFixed(1).padStart(5) + '%';
const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`profile ${file}: ${((busy + idle) / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (shares below are of the busy time)`);
console.log('\nself time by function:');
for (const [k, us] of rows(fnSelf)) console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
console.log('\ninclusive time by function (self + callees):');
for (const [k, us] of rows(fnTotal)) console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
console.log('\nself time by file / package:');
for (const [k, us] of rows(files)) console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
if (jsonOut) {
  const list = (m) => rows(m).map(([k, us]) => ({ frame: k, ms: Math.round(us / 1000), share: Math.round((1000 * us) / busy) / 10 }));
  writeFileSync(jsonOut, JSON.stringify({ file, busyMs: Math.round(busy / 1000), self: list(fnSelf), inclusive: list(fnTotal), files: list(files) }, null, 2) + '\n');
}
