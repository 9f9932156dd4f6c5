#!/usr/bin/env node
// Cost of the embedded write-behind on its own: N checkpoints (each a new session, as in `ibex bench`)
// and N traces written in batches of B into a fresh SQLite file, as the writer worker does.
//   node bench/sqlite-writes.mjs [N=20000] [B=100] [--random-ids] [--turns=T]
// --turns=T: conversations of T turns instead, each turn resending its session's history as clients
// do (turn t: the directive and 2t-1 messages), to see what a long conversation costs per checkpoint.
// Needs the build (npm run build). Prints µs per row (wall and CPU) for each half. Ids are made as the
// gateway makes them (time-ordered); --random-ids uses random UUIDs instead, which is what ibex did
// before and costs SQLite 2-5x the CPU per row (random inserts into every index).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../dist/src/stores/sqlite/index.js';
import { timeOrderedHex32, uuidV7 } from '../dist/src/util/time-ordered-id.js';

const randomIds = process.argv.includes('--random-ids');
const turns = Number(process.argv.find((a) => a.startsWith('--turns='))?.slice('--turns='.length) ?? 1);
const [nArg, bArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const n = Number(nArg ?? 20_000);
const b = Number(bArg ?? 100);
const dir = mkdtempSync(join(tmpdir(), 'ibex-sqlite-bench-'));
const stores = await openSqliteStores(join(dir, 'ibex.db'));
await stores.migrate();

const directive = 'You are a careful assistant. Answer briefly and cite the policy version. '.repeat(3);
const start = Date.now();
let sessionId = '';
let history = [];
const rows = Array.from({ length: n }, (_, i) => {
  const requestId = randomIds ? randomUUID() : uuidV7();
  if (i % turns === 0) {
    sessionId = 'ses_' + (randomIds ? randomUUID().replaceAll('-', '') : timeOrderedHex32());
    history = [{ role: 'system', content: directive }];
  } else {
    history = [...history, { role: 'assistant', content: `echo: hello ${i - 1}` }];
  }
  history = [...history, { role: 'user', content: `hello ${i}` }];
  const createdAt = start + i;
  return {
    checkpoint: {
      sessionId, agent: 'bench', patId: 'pat_bench', requestId, model: 'gpt-4o-mini', directiveVersion: 1,
      messages: history,
      reply: `echo: hello ${i}`, finishReason: 'stop', usage: { promptTokens: 40, completionTokens: 8, totalTokens: 48 },
      status: 'ok', errorCode: null, stream: false, createdAt,
    },
    trace: {
      requestId, sessionId, agent: 'bench', patId: 'pat_bench', model: 'gpt-4o-mini', provider: 'openai', stream: false,
      status: 200, errorCode: null, startedAt: createdAt, totalMs: 51.234, upstreamTtfbMs: 50.1, upstreamMs: 50.9,
      overheadMs: 0.334, stages: { auth: 0.01, agent: 0.002, rate_limit: 0.003, validate: 0.01, directive: 0.001, route: 0.001, inject: 0.02, respond: 0.05 },
      promptTokens: 40, completionTokens: 8, totalTokens: 48, bytesIn: 120, bytesOut: 400, directiveVersion: 1,
    },
  };
});

async function time(label, write) {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i += b) await write(rows.slice(i, i + b));
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Wall time includes the fsync of each WAL checkpoint (synchronous = NORMAL), which varies a lot
  // on a VM; CPU time is what the writer thread takes from the machine.
  console.log(
    `${label.padEnd(12)} ${n} rows in batches of ${b}: ${(us / n).toFixed(1)} µs/row wall, ${((cpu.user + cpu.system) / n).toFixed(1)} µs/row CPU`,
  );
}
await time('checkpoints', (batch) => stores.sessions.appendCheckpoints(batch.map((r) => r.checkpoint)));
await time('traces', (batch) => stores.traces.write(batch.map((r) => r.trace)));
await stores.close();
rmSync(dir, { recursive: true, force: true });
