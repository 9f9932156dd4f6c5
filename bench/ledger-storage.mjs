// Storage of a long session before and after the content-addressed ledger (issue 15).
// Usage: npm run build && node bench/ledger-storage.mjs [--turns 50] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
import { measurePostgres, measureSqlite } from '../dist/src/bench/ledger-storage.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : process.argv[i + 1];
};
const turns = Number(arg('--turns', '50'));
const results = [await measureSqlite(turns)];
const pgUrl = arg('--postgres', undefined);
if (pgUrl) results.push(await measurePostgres(pgUrl, turns));
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
console.log('| store | turns | history as JSON | before (full messages per checkpoint) | after (ledger) | before / after |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.store} | ${r.turns} | ${kib(r.historyBytes)} | ${kib(r.beforeBytes)} | ${kib(r.afterBytes)} | ${r.ratio}× |`);
}
