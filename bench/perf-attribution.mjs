#!/usr/bin/env node
// Where a gateway process's CPU time goes, from `perf record` (on-CPU samples, kernel included) rather
// than from `--cpu-prof` (V8's profiler samples wall time: a thread preempted inside writev() counts
// as writev, which made socket writes look like a fifth of the main thread's CPU when perf puts the
// whole kernel at a fifth of the process's).
//
//   node --perf-basic-prof bin/ibex.js serve …            # JS frames get names in perf's output
//   perf record -e cpu-clock -F 4000 -g -p PID -o perf.data -- sleep 15   # while a bench runs
//   node bench/perf-attribution.mjs perf.data [TOP]
//
// Prints: CPU share per thread (the main thread is the one whose tid is the pid); the main thread's
// samples charged to the innermost ibex function on their stack (dist/src/…), with everything it
// called (builtins, node internals, the kernel) — so "run → Reply.send" is the response write that
// ibex's request handler started; and the samples with no ibex frame at all (HTTP parsing, timers,
// the event loop), by their outermost JavaScript frame. Names of JIT code come from /tmp/perf-PID.map
// and can be stale (V8 reuses the space of collected code), so read a lone odd callee with care.
import { execFileSync } from 'node:child_process';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/perf-attribution.mjs perf.data [TOP]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
let text;
try {
  text = execFileSync('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym'], { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
} catch (err) {
  const why = err.code === 'ENOENT' ? 'perf is not installed (Debian: apt-get install linux-perf)' : String(err.stderr || err.message).trim();
  process.stderr.write(`perf script -i ${file} failed: ${why}\n`);
  process.exit(1);
}

/** Each sample: its pid, tid and frames, innermost first. */
const samples = [];
let cur = null;
for (const line of text.split('\n')) {
  if (!line.trim()) {
    if (cur) samples.push(cur);
    cur = null;
  } else if (!line.startsWith('\t')) {
    const [ids] = line.trim().split(/\s+/);
    const [pid, tid] = ids.split('/');
    cur = { pid, tid: tid ?? pid, frames: [] };
  } else if (cur) {
    const rest = line.trim().split(/\s+/).slice(1).join(' ');
    cur.frames.push(rest || '?');
  }
}
if (cur) samples.push(cur);
if (samples.length === 0) {
  process.stderr.write('no samples (was perf recording the right pid?)\n');
  process.exit(1);
}

/** `JS:*run file:///…/dist/src/pipeline/handle.js:39:19` → `run src/pipeline/handle.js:39:19` */
const short = (f) =>
  f
    .replace(/^JS:[*^~+]?/, '')
    .replace(/(?:file:\/\/)?\/\S*\/node_modules\//, 'nm:')
    .replace(/(?:file:\/\/)?\/\S*\/dist\/src\//, 'src/');
const pct = (n, of) => `${((100 * n) / of).toFixed(2).padStart(6)}%`;
const count = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);

const byThread = new Map();
for (const s of samples) count(byThread, s.tid === s.pid ? `${s.tid} (main)` : s.tid);
console.log(`${samples.length} samples`);
console.log('\nCPU by thread (share of the process):');
for (const [tid, n] of sorted(byThread).slice(0, 12)) console.log(`${pct(n, samples.length)}  ${tid}`);

const main = samples.filter((s) => s.tid === s.pid);
const byIbex = new Map();
const byIbexCallee = new Map();
const noIbex = new Map();
for (const s of main) {
  const i = s.frames.findIndex((f) => f.includes('dist/src/'));
  if (i === -1) {
    const js = s.frames.filter((f) => f.startsWith('JS:'));
    count(noIbex, js.length ? short(js[js.length - 1]) : short(s.frames[s.frames.length - 1] ?? '?'));
    continue;
  }
  const fn = short(s.frames[i]);
  count(byIbex, fn);
  count(byIbexCallee, `${fn.split(' ')[0] || fn.trim()} → ${i > 0 ? short(s.frames[i - 1]) : '(its own code)'}`);
}
const ibexTotal = [...byIbex.values()].reduce((a, b) => a + b, 0);
console.log(`\nmain thread: ${pct(main.length, samples.length)} of the process; ${pct(ibexTotal, main.length)} of it under an ibex frame`);
console.log(`\nmain thread by innermost ibex function (with all it called), share of the main thread:`);
for (const [k, n] of sorted(byIbex).slice(0, top)) console.log(`${pct(n, main.length)}  ${k}`);
console.log(`\n… split by what that function called:`);
for (const [k, n] of sorted(byIbexCallee).slice(0, top)) console.log(`${pct(n, main.length)}  ${k}`);
console.log(`\nmain thread with no ibex frame, by outermost JavaScript frame:`);
for (const [k, n] of sorted(noIbex).slice(0, Math.min(top, 15))) console.log(`${pct(n, main.length)}  ${k}`);
