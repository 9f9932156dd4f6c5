// Self time per function of two .cpuprofile files (node --cpu-prof), largest growth first:
//   node bench/profile-diff.mjs BEFORE.cpuprofile AFTER.cpuprofile
import { readFileSync } from 'node:fs';
function load(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const agg = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i]).callFrame;
    if (cf.functionName === '(idle)') continue;
    const url = cf.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm:').replace(/.*\/(dist|src)\//, '$1/');
    const key = `${cf.functionName || '(anon)'} ${url}`;
    agg.set(key, (agg.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  return agg;
}
const [a, b] = process.argv.slice(2).map(load);
const keys = new Set([...a.keys(), ...b.keys()]);
const rows = [...keys].map((k) => [k, (a.get(k) ?? 0) / 1000, (b.get(k) ?? 0) / 1000]).map(([k, x, y]) => [k, x, y, y - x]);
rows.sort((r, s) => s[3] - r[3]);
let sa = 0, sb = 0; for (const r of rows) { sa += r[1]; sb += r[2]; }
console.log(`total base ${sa.toFixed(0)} main ${sb.toFixed(0)}`);
for (const r of rows.slice(0, 30).concat(rows.slice(-10))) console.log(`${r[1].toFixed(1).padStart(8)} ${r[2].toFixed(1).padStart(8)} ${r[3] >= 0 ? '+' : ''}${r[3].toFixed(1).padStart(7)}  ${r[0]}`);
