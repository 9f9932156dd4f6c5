// Self time of one function split by its caller chain, from a --cpu-prof profile: where a hot helper
// (lru-cache set, JSON.parse, …) is called from. node bench/profile-callers.mjs PROFILE FUNC [DEPTH=4]
import { readFileSync } from 'node:fs';
const [file, fn, depthArg] = process.argv.slice(2);
const depth = Number(depthArg ?? 4);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const acc = new Map();
for (const n of p.nodes) {
  if (n.callFrame.functionName !== fn) continue;
  const chain = [];
  let id = parent.get(n.id);
  while (id && chain.length < depth) { const f = byId.get(id).callFrame; chain.push(`${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`); id = parent.get(id); }
  const k = chain.join(' < ');
  acc.set(k, (acc.get(k) ?? 0) + (self.get(n.id) ?? 0));
}
for (const [k, v] of [...acc].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log((v / 1000).toFixed(0).padStart(6), 'ms', k);
