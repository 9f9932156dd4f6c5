// Micro-benchmarks of the auth stage, against the BUILT code (dist/). Run:
//
//   npx tsc -p tsconfig.json && node bench/auth-micro.mjs [--quick]
//
// Prints a markdown table: ops/s (one sequential caller) and p50/p99 latency per path, then the
// revocation propagation delays (p50/p99) for push and for the poll backstop. Everything runs on
// 127.0.0.1 and temp files, and stops by itself. Redis is used when it answers at
// IBEX_BENCH_REDIS_URL (default redis://127.0.0.1:6379); otherwise that row is skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { AuthCache } = await load('src/auth/auth-cache.js');
const { StoreTokenValidator } = await load('src/auth/store-validator.js');
const { GrpcTokenValidator } = await load('src/auth/grpc-client.js');
const { startAuthServer } = await load('src/auth/grpc-server.js');
const { createAuth } = await load('src/auth/index.js');
const { TokenIndex } = await load('src/auth/token-index.js');
const { generatePat, hashToken } = await load('src/auth/pat.js');
const { openSqliteStores } = await load('src/stores/sqlite/index.js');
const { MemoryBus } = await load('src/stores/memory/bus.js');
const { createPat, revokePat } = await load('src/ops/identity.js');
let MemoryRateLimiter = null;
try {
  ({ MemoryRateLimiter } = await load('src/stores/memory/rate-limiter.js'));
} catch {
  // not built: row skipped
}

const quick = process.argv.includes('--quick');
const N = quick ? 2_000 : 20_000;
const MISSES = quick ? 500 : 3_000;
const rows = [];

function summarize(samplesNs, totalNs) {
  const s = Float64Array.from(samplesNs).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] / 1000;
  return { n: s.length, opsPerSec: Math.round(s.length / (Number(totalNs) / 1e9)), p50: at(0.5), p99: at(0.99) };
}

/** Runs `fn(i)` n times sequentially (after a warm-up), timing each call. */
async function measure(name, n, fn, warmup = Math.min(200, n)) {
  for (let i = 0; i < warmup; i++) await fn(i, true);
  const samples = new Array(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    await fn(i, false);
    samples[i] = Number(process.hrtime.bigint() - a);
  }
  const r = summarize(samples, process.hrtime.bigint() - t0);
  rows.push({ name, ...r });
  process.stderr.write(`  ${name}: done\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'ibex-auth-bench-'));
const stores = await openSqliteStores(join(dir, 'ibex.db'));
await stores.migrate();
await stores.agents.create({ name: 'bot' });
const silentBus = new MemoryBus();
const ops = { ...stores, bus: silentBus };
process.stderr.write(`auth micro-benchmarks (n=${N}, misses=${MISSES})\n`);

// Tokens for the miss paths: created before the caches start, so they are in the bloom filter and
// every first request is a bloom-positive miss that reads the store (or the auth server).
const warm = MISSES + 200;
const tokens = [];
for (let i = 0; i < warm * 2 + 1; i++) tokens.push((await createPat(ops, { agents: ['bot'] })).token);

// ---- auth hit ----
{
  const cache = new AuthCache({ validator: new StoreTokenValidator(stores.tokens), index: stores.tokens });
  await cache.start();
  await cache.authenticate(tokens[0]);
  await measure('auth hit (LRU; checksum + SHA-256 + expiry)', N, () => cache.authenticate(tokens[0]));
  // malformed: the checksum check alone
  const bad = tokens[0].slice(0, -1) + (tokens[0].endsWith('A') ? 'B' : 'A');
  await measure('reject malformed (checksum, no hash)', N, () => cache.authenticate(bad).catch(() => {}));
  // unknown token already answered "unknown" once: negative cache
  const unknown = generatePat().token;
  await cache.authenticate(unknown).catch(() => {});
  await measure('reject unknown, negative-cached', N, () => cache.authenticate(unknown).catch(() => {}));
  await cache.stop();
}

// ---- auth miss against SQLite ----
{
  const cache = new AuthCache({ validator: new StoreTokenValidator(stores.tokens), index: stores.tokens });
  await cache.start();
  await measure('auth miss → SQLite findByHash', MISSES, (i, w) => cache.authenticate(tokens[1 + (w ? MISSES + i : i)]));
  await cache.stop();
}

// ---- auth miss over gRPC ----
{
  const server = await startAuthServer({ port: 0, host: '127.0.0.1', tokens: stores.tokens, revocations: stores.revocations });
  const client = new GrpcTokenValidator({ url: `grpc://127.0.0.1:${server.port}` });
  const cache = new AuthCache({ validator: client, index: client });
  await cache.start();
  const base = 1 + warm;
  await measure('auth miss → gRPC ValidateToken (SQLite behind)', MISSES, (i, w) => cache.authenticate(tokens[base + (w ? MISSES + i : i)]));
  await cache.stop();
  client.close();
  await server.close();
}

// ---- bloom filter check alone ----
{
  const hashes = Array.from({ length: 10_000 }, () => hashToken(generatePat().token));
  const index = new TokenIndex(hashes, hashes.length);
  const probes = Array.from({ length: N }, () => hashToken(generatePat().token));
  await measure('bloom check (TokenIndex.has, digest-sliced hashing)', N, (i) => index.has(probes[i]));
}

// ---- flood: bloom-negative unknown tokens, budget exhausted ----
{
  let lookups = 0;
  const counted = Object.create(stores.tokens, {
    findByHash: { value: (h) => (lookups++, stores.tokens.findByHash(h)) },
  });
  const cache = new AuthCache({ validator: new StoreTokenValidator(counted), index: stores.tokens });
  await cache.start();
  const flood = Array.from({ length: 10_000 }, () => generatePat().token);
  const t0 = process.hrtime.bigint();
  await Promise.all(flood.map((t) => cache.authenticate(t).catch(() => {})));
  const ns = Number(process.hrtime.bigint() - t0);
  rows.push({
    name: `flood: 10,000 concurrent random tokens (store lookups: ${lookups})`,
    n: flood.length,
    opsPerSec: Math.round(flood.length / (ns / 1e9)),
    p50: NaN,
    p99: NaN,
  });
  await cache.stop();
}

// ---- rate limiter ----
if (MemoryRateLimiter) {
  const rl = new MemoryRateLimiter();
  await measure('MemoryRateLimiter.hit', N, (i) => rl.hit(`pat:${i % 100}`, 1_000_000, 60_000));
  rl.close?.();
}

// ---- revocation propagation ----
const propagation = [];

async function propagationRun(name, { bus, opsBus, pollIntervalMs, samples, authUrl, spreadMs = 50 }) {
  const auth = createAuth({ tokens: stores.tokens, agents: stores.agents, revocations: stores.revocations, bus, pollIntervalMs, authUrl });
  await auth.start();
  const o = { ...stores, bus: opsBus };
  await new Promise((r) => setTimeout(r, 300)); // streams connected, subscriptions active
  for (let i = 0; i < samples; i++) {
    const { token, record } = await createPat(o, { agents: ['bot'] });
    await auth.authCache.authenticate(token);
    const before = auth.watcher.stats().applied;
    await revokePat(o, record.id);
    const t0 = Date.now();
    while (auth.watcher.stats().applied === before) {
      if (Date.now() - t0 > 6000) throw new Error(`${name}: not applied within 6 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    // Random pause: otherwise every revocation lands just after a poll and the poll rows would
    // show the worst case instead of the distribution.
    await new Promise((r) => setTimeout(r, Math.random() * spreadMs));
  }
  const s = auth.watcher.stats();
  propagation.push({ name, n: samples, p50: s.delayMs.p50, p99: s.delayMs.p99, max: s.delayMs.max, sources: JSON.stringify(s.bySource) });
  await auth.stop();
  process.stderr.write(`  ${name}: done\n`);
}

{
  const bus = new MemoryBus();
  await propagationRun('push: in-process bus', { bus, opsBus: bus, samples: quick ? 50 : 300 });
  await propagationRun('poll only (1 s backstop)', { bus: new MemoryBus(), opsBus: silentBus, pollIntervalMs: 1000, samples: quick ? 5 : 20, spreadMs: 1000 });
  const serverBus = new MemoryBus();
  const server = await startAuthServer({ port: 0, host: '127.0.0.1', tokens: stores.tokens, revocations: stores.revocations, bus: serverBus });
  await propagationRun('gRPC stream, server bus push', {
    bus: new MemoryBus(),
    opsBus: serverBus,
    authUrl: `grpc://127.0.0.1:${server.port}`,
    samples: quick ? 50 : 200,
  });
  await propagationRun('gRPC stream, server poll only (250 ms)', {
    bus: new MemoryBus(),
    opsBus: silentBus,
    authUrl: `grpc://127.0.0.1:${server.port}`,
    samples: quick ? 10 : 40,
    spreadMs: 250,
  });
  await server.close();
}

const redisUrl = process.env.IBEX_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
try {
  const { openRedisBackends } = await load('src/stores/redis/index.js');
  const prefix = `ibex-bench:auth:${process.pid}:`;
  const gw = await openRedisBackends(redisUrl, { prefix, connectTimeoutMs: 1000 });
  const cli = await openRedisBackends(redisUrl, { prefix, connectTimeoutMs: 1000 });
  await propagationRun('push: Redis bus (separate connections)', { bus: gw.bus, opsBus: cli.bus, samples: quick ? 50 : 300 });
  await gw.close();
  await cli.close();
} catch (err) {
  process.stderr.write(`  Redis row skipped: ${err.message}\n`);
}

await stores.close();
rmSync(dir, { recursive: true, force: true });

const f = (x) => (Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString());
console.log(`\n### Auth micro-benchmarks (node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`);
console.log('| path | n | ops/s (1 caller) | p50 µs | p99 µs |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.n} | ${r.opsPerSec.toLocaleString('en-US')} | ${f(r.p50)} | ${f(r.p99)} |`);
console.log('\n### Revocation propagation (revoke committed → this process applied it)\n');
console.log('| path | n | p50 ms | p99 ms | max ms | applied by |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of propagation) console.log(`| ${r.name} | ${r.n} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.sources} |`);
process.exit(0);
