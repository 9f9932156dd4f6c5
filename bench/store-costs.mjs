#!/usr/bin/env node
// What one request costs each shared store in production mode, and whether that stays flat as
// replicas are added (docs/scaling.md). Starts its own redis-server (so INFO commandstats counts only
// ibex), a fresh Postgres database and ClickHouse database, counting proxies in front of Postgres (wire
// protocol: statements executed, round trips) and ClickHouse (HTTP requests, bytes sent), then K gateway
// replicas (`ibex serve`) on those stores and the mock upstream; sends N requests spread evenly over the
// replicas (closed loop, each request a new session, as in `ibex bench`) and reports per request: Redis
// commands by name and round trips, Postgres statements / round trips / transactions / rows written,
// ClickHouse inserts, rows and bytes, and per replica CPU ms per request and RSS. Loopback only.
//   npm run build && node bench/store-costs.mjs [--replicas 1] [--requests 4000] [--concurrency 16]
//        [--stream] [--idle-connections 0] [--json OUT]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import http from 'node:http';
import pg from 'pg';
import { Redis } from 'ioredis';

const dist = (p) => new URL(`../dist/src/${p}`, import.meta.url).href;
const { startChild, stopAll, ibexBin, embeddedEnv } = await import(dist('bench/children.js'));
const { startLoad } = await import(dist('bench/load.js'));
const { readCpuMs, readRss } = await import(dist('bench/rss.js'));
const { prepareProductionStores } = await import(dist('bench/production.js'));
const { chatBody, BENCH_DIRECTIVE } = await import(dist('bench/rig.js'));

const { values: a } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1' },
    requests: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '16' },
    stream: { type: 'boolean', default: false },
    'idle-connections': { type: 'string', default: '0' },
    'pg-admin': { type: 'string', default: process.env.IBEX_TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    clickhouse: { type: 'string', default: 'http://127.0.0.1:8123' },
    json: { type: 'string' },
  },
});
const replicas = Number(a.replicas);
const requests = Number(a.requests);
const concurrency = Number(a.concurrency);
const idleConnections = Number(a['idle-connections']);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** A TCP proxy that hands each client→server chunk to `onClientData` (for counting) and passes bytes through. */
function countingProxy(targetHost, targetPort, onClientData) {
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const state = {};
    client.on('data', (buf) => {
      onClientData(buf, state);
      upstream.write(buf);
    });
    upstream.on('data', (buf) => client.write(buf));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => new Promise((r) => server.close(() => r())) })));
}

// Postgres frontend messages: after the startup packet (no type byte), each is type(1) + length(4) + body.
const pgCounts = { query: 0, parse: 0, execute: 0, sync: 0, writes: 0 };
function countPg(buf, state) {
  pgCounts.writes++;
  state.pending = state.pending ? Buffer.concat([state.pending, buf]) : buf;
  let b = state.pending;
  if (!state.started) {
    if (b.length < 4) return;
    const len = b.readInt32BE(0);
    if (b.length < len) return;
    const code = b.readInt32BE(4);
    b = b.subarray(len);
    // SSLRequest (80877103) is followed by another startup packet
    if (code !== 80877103) state.started = true;
  }
  while (state.started && b.length >= 5) {
    const len = b.readInt32BE(1);
    if (b.length < 1 + len) break;
    const t = String.fromCharCode(b[0]);
    if (t === 'Q') pgCounts.query++;
    else if (t === 'P') pgCounts.parse++;
    else if (t === 'E') pgCounts.execute++;
    else if (t === 'S') pgCounts.sync++;
    b = b.subarray(1 + len);
  }
  state.pending = b.length ? Buffer.from(b) : null;
}

const redisWrites = { n: 0 };
const chCounts = { requests: 0, inserts: 0, bytes: 0 };

function clickhouseProxy(target) {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    chCounts.requests++;
    const isInsert = /insert/i.test(decodeURIComponent(req.url ?? ''));
    if (isInsert) chCounts.inserts++;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    req.on('data', (c) => {
      if (isInsert) chCounts.bytes += c.length;
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, close: () => new Promise((r) => server.close(() => r())) })));
}

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
const dbName = `ibex_bench_costs_${stamp.toLowerCase()}_${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'ibex-store-costs-'));
const children = [];
const closers = [];
let redisProc;
try {
  // Redis of our own: commandstats then count ibex's commands only.
  const redisPort = await freePort();
  redisProc = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const redisProxy = await countingProxy('127.0.0.1', redisPort, () => redisWrites.n++);
  closers.push(redisProxy.close);
  const redisAdmin = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
  await redisAdmin.connect();

  const admin = new pg.Client({ connectionString: a['pg-admin'] });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const pgUrl = new URL(a['pg-admin']);
  const pgProxy = await countingProxy(pgUrl.hostname, Number(pgUrl.port || 5432), countPg);
  closers.push(pgProxy.close);
  const proxiedPg = new URL(a['pg-admin']);
  proxiedPg.host = `127.0.0.1:${pgProxy.port}`;
  proxiedPg.pathname = `/${dbName}`;
  const directPg = new URL(a['pg-admin']);
  directPg.pathname = `/${dbName}`;

  const chProxy = await clickhouseProxy(a.clickhouse);
  closers.push(chProxy.close);
  const chDirect = `${a.clickhouse.replace(/\/+$/, '')}/${dbName}`;
  const chQuery = async (sql) => (await (await fetch(`${a.clickhouse}/`, { method: 'POST', body: sql })).text()).trim();

  const storeEnv = {
    IBEX_DATABASE_URL: proxiedPg.href,
    IBEX_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    IBEX_CLICKHOUSE_URL: `http://127.0.0.1:${chProxy.port}/${dbName}`,
  };
  const identity = await prepareProductionStores(home, { ...storeEnv, IBEX_DATABASE_URL: directPg.href, IBEX_CLICKHOUSE_URL: chDirect, IBEX_REDIS_URL: `redis://127.0.0.1:${redisPort}` }, BENCH_DIRECTIVE);

  const mock = await startChild({ name: 'mock upstream', args: [ibexBin(), 'mock-upstream', '--port', '0', '--latency', '0', '--ttfb', '0', '--chunks', '5', '--chunk-interval', '1'] });
  children.push(mock);
  const gateways = [];
  for (let i = 0; i < replicas; i++) {
    const h = mkdtempSync(join(home, `replica-${i}-`));
    const g = await startChild({
      name: `gateway ${i + 1}`,
      args: [ibexBin(), 'serve', '--port', '0', '--host', '127.0.0.1'],
      env: embeddedEnv(h, { IBEX_UPSTREAM_URL: mock.url, OPENAI_API_KEY: 'sk-bench', ...storeEnv }),
      ready: /ibex listening on (http:\/\/\S+)/,
    });
    children.push(g);
    gateways.push(g);
  }
  const target = (g) => ({ url: `${g.url}/v1/chat/completions`, headers: { 'content-type': 'application/json', authorization: `Bearer ${identity.token}` }, body: chatBody(a.stream), stream: a.stream });
  const per = Math.ceil(concurrency / replicas);
  // warm-up: caches, connection pools, JIT
  await Promise.all(gateways.map((g) => startLoad({ target: target(g), concurrency: per, durationMs: 600_000, warmupMs: 0, maxRequests: 200 }).done));
  // let the warm-up's write-behind land and Postgres report its statistics (within 10 s of idling)
  await new Promise((r) => setTimeout(r, 12_000));

  const snap = async () => {
    const info = await redisAdmin.info('commandstats');
    const redis = {};
    for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) redis[m[1]] = Number(m[2]);
    const dbc = new pg.Client({ connectionString: directPg.href });
    await dbc.connect();
    const rows = (await dbc.query('SELECT (SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM checkpoints) AS checkpoints')).rows[0];
    await dbc.end();
    const db = (await admin.query('SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = $1', [dbName])).rows[0];
    const chRows = Number(await chQuery(`SELECT count() FROM ${dbName}.traces`).catch(() => 'NaN'));
    const chBytes = Number(await chQuery(`SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '${dbName}' AND active`).catch(() => 'NaN'));
    return { redis, redisWrites: redisWrites.n, pg: { ...pgCounts }, rows: { sessions: Number(rows.sessions), checkpoints: Number(rows.checkpoints) }, db: Object.fromEntries(Object.entries(db).map(([k, v]) => [k, Number(v)])), ch: { ...chCounts, rows: chRows, bytesOnDisk: chBytes }, cpu: gateways.map((g) => readCpuMs(g.pid)) };
  };
  // pg_stat_database is updated by backends at transaction end, at most every 500 ms (PGSTAT_MIN_INTERVAL)
  const before = await snap();
  const t0 = performance.now();
  const results = await Promise.all(
    gateways.map((g) => startLoad({ target: target(g), concurrency: per, durationMs: 600_000, warmupMs: 0, maxRequests: Math.round(requests / replicas) }).done),
  );
  const wallMs = performance.now() - t0;
  // write-behind flushes; Postgres backends report their table statistics within 10 s of going idle
  await new Promise((r) => setTimeout(r, 12_000));
  const after = await snap();
  const sent = results.reduce((n, r) => n + r.requests, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const perReq = (x) => Math.round((x / sent) * 1000) / 1000;
  const redisPer = {};
  for (const [k, v] of Object.entries(after.redis)) {
    const d = v - (before.redis[k] ?? 0);
    if (d > 0 && k !== 'info') redisPer[k] = perReq(d);
  }
  const redisTotal = Object.values(redisPer).reduce((s, v) => s + v, 0);

  let idle = null;
  if (idleConnections > 0) {
    const g = gateways[0];
    const rss0 = readRss(g.pid)?.rssKb ?? null;
    const agent = new http.Agent({ keepAlive: true, maxSockets: idleConnections });
    await Promise.all(
      Array.from({ length: idleConnections }, () => new Promise((resolve) => {
        const req = http.request(`${g.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', resolve);
        req.end();
      })),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const rss1 = readRss(g.pid)?.rssKb ?? null;
    agent.destroy();
    idle = { connections: idleConnections, rssBeforeMB: rss0 / 1024, rssAfterMB: rss1 / 1024, kbPerConnection: rss0 && rss1 ? Math.round(((rss1 - rss0) / idleConnections) * 10) / 10 : null };
  }

  const report = {
    config: { replicas, requests: sent, concurrency, stream: a.stream },
    machine: { loadavg1: loadavg()[0] },
    errors,
    rps: Math.round((sent * 1000) / wallMs),
    perRequest: {
      redis: { commands: Math.round(redisTotal * 1000) / 1000, byCommand: redisPer, clientWrites: perReq(after.redisWrites - before.redisWrites) },
      postgres: {
        statements: perReq(after.pg.query + after.pg.execute - before.pg.query - before.pg.execute),
        roundTrips: perReq(after.pg.sync + after.pg.query - before.pg.sync - before.pg.query),
        transactions: perReq(after.db.xact_commit - before.db.xact_commit),
        sessionRows: perReq(after.rows.sessions - before.rows.sessions),
        checkpointRows: perReq(after.rows.checkpoints - before.rows.checkpoints),
        rowsInserted: perReq(after.db.tup_inserted - before.db.tup_inserted),
        rowsUpdated: perReq(after.db.tup_updated - before.db.tup_updated),
        rowsRead: perReq(after.db.tup_fetched - before.db.tup_fetched),
      },
      clickhouse: {
        httpRequests: perReq(after.ch.requests - before.ch.requests),
        inserts: perReq(after.ch.inserts - before.ch.inserts),
        rows: perReq(after.ch.rows - before.ch.rows),
        bytesSent: perReq(after.ch.bytes - before.ch.bytes),
        bytesOnDisk: perReq(after.ch.bytesOnDisk - before.ch.bytesOnDisk),
      },
      replicaCpuMs: gateways.map((g, i) => (after.cpu[i] - before.cpu[i]) / results[i].requests).map((v) => Math.round(v * 1000) / 1000),
    },
    replicaRssMB: gateways.map((g) => Math.round(((readRss(g.pid)?.rssKb ?? 0) / 1024) * 10) / 10),
    idle,
  };
  await identity.cleanup();
  await redisAdmin.quit();
  await admin.end();
  if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report, null, 2));
  globalThis.__cleanup = async () => {
    const c = new pg.Client({ connectionString: a['pg-admin'] });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await c.end();
    await chQuery(`DROP DATABASE IF EXISTS ${dbName}`).catch(() => {});
  };
} finally {
  await stopAll(children);
  for (const c of closers) await c().catch(() => {});
  redisProc?.kill('SIGTERM');
  await globalThis.__cleanup?.();
  rmSync(home, { recursive: true, force: true });
}
