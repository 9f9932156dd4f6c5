// Store outages in production mode. Each service is reached through a TCP proxy the test can cut, so
// one gateway loses its Redis, ClickHouse or Postgres without disturbing other tests on the same servers.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pgDriver from 'pg';
import { request } from 'undici';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { CuttableProxy, deleteKeys, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import {
  CLICKHOUSE_TEST_URL,
  clickhouseExec,
  probeClickHouse,
  testClickHouseDatabase,
  type TestClickHouseDatabase,
} from '../helpers/clickhouse.js';
import { openClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { quote } from '../../src/stores/clickhouse/url.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import { POSTGRES_ADMIN_URL } from '../helpers/postgres.js';

const chUnreachable = await probeClickHouse();
if (chUnreachable && process.env.CI === 'true') throw new Error(`ClickHouse required in CI: ${chUnreachable}`);

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | false | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithPostgres('store outages (production mode, cut by proxy)', () => {
  let pg: TestDatabase;
  let ch: TestClickHouseDatabase;
  let prefix: string;
  const pgProxy = new CuttableProxy(new URL(POSTGRES_ADMIN_URL));
  const redisProxy = new CuttableProxy(new URL(REDIS_TEST_URL));
  const chProxy = new CuttableProxy(new URL(CLICKHOUSE_TEST_URL));
  let gw: TestGateway;

  const chat = (token: string, headers: Record<string, string> = {}) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    }).then(async (r) => ({ status: r.statusCode, headers: r.headers, json: JSON.parse(await r.body.text()) as { error?: { code: string } } }));

  beforeAll(async () => {
    if (chUnreachable) return;
    pg = await createTestDatabase('outages');
    ch = testClickHouseDatabase('outages');
    prefix = uniquePrefix('outages');
    await Promise.all([pgProxy.up(), redisProxy.up(), chProxy.up()]);
    const pgUrl = new URL(pg.url);
    pgUrl.port = String(pgProxy.port);
    gw = await startTestGateway({
      env: {
        IBEX_DATABASE_URL: pgUrl.toString(),
        IBEX_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        IBEX_REDIS_PREFIX: prefix,
        IBEX_CLICKHOUSE_URL: `http://127.0.0.1:${chProxy.port}/${ch.name}`,
        IBEX_POLL_INTERVAL_MS: '500',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([pgProxy.up().catch(() => {}), redisProxy.up().catch(() => {}), chProxy.up().catch(() => {})]);
    await gw?.stop();
    await Promise.all([pgProxy.down(), redisProxy.down(), chProxy.down()]);
    await pg?.drop();
    await ch?.drop();
    if (prefix) await deleteKeys(prefix);
  });

  it.skipIf(chUnreachable !== null)('Redis down: rate limits fail open, everything else serves; limits return with Redis', async () => {
    const { token } = await provision(gw, 'redis-out', { patArgs: ['--rpm', '3'] });
    expect((await chat(token)).status).toBe(200);
    await redisProxy.down();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await chat(token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(gw.output()).toMatch(/rate limits fail open/);
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(Number(/ibex_rate_limit_fail_open_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
    await redisProxy.up();
    // a fresh PAT's limit is enforced again once ioredis has reconnected
    const { token: t2 } = await provision(gw, 'redis-back', { patArgs: ['--rpm', '2'] });
    await until('limits enforced again', 10_000, async () => {
      const s = [];
      for (let i = 0; i < 3; i++) s.push((await chat(t2)).status);
      return s.includes(429);
    });
  });

  it.skipIf(chUnreachable !== null)('ClickHouse down: traces spool to disk and are all replayed once it returns', async () => {
    const { token } = await provision(gw, 'ch-out');
    await chProxy.down();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await chat(token, { 'x-ibex-session': 'ses-ch-outage' });
      expect(r.status).toBe(200);
      ids.push(String(r.headers['x-request-id']));
    }
    const spoolDir = join(gw.home, 'spool', 'traces');
    await until('spool files', 10_000, async () => readdirSync(spoolDir).length > 0);
    await chProxy.up();
    const sink = await openClickHouseTraceSink(`${CLICKHOUSE_TEST_URL}/${ch.name}`);
    try {
      const got = await until('20 traces in ClickHouse', 20_000, async () => {
        const t = await sink.list({ sessionId: 'ses-ch-outage', limit: 100 });
        return t.length >= 20 ? t : null;
      });
      expect(new Set(got.map((t) => t.requestId))).toEqual(new Set(ids));
      expect(got).toHaveLength(20);
    } finally {
      await sink.close();
    }
    await until('spool drained', 10_000, async () => readdirSync(spoolDir).length === 0);
  });

  it.skipIf(chUnreachable !== null)(
    'every store cut and restored during a bounded load run: no crash, every checkpoint and trace accounted for',
    async () => {
      const { token } = await provision(gw, 'load-out');
      expect((await chat(token)).status).toBe(200); // token, agent and directive cached before the storms
      const sid = 'ses-load-outage';
      const ok: string[] = [];
      const statuses: number[] = [];
      const until_ = Date.now() + 6000;
      // Paced, so the run's size does not grow with the machine's speed (at most 8 × 6000 / 20 = 2,400
      // requests: what is checked below stays bounded) while the outages still fall inside the run.
      const PACE_MS = 20;
      const worker = async () => {
        while (Date.now() < until_) {
          const t0 = Date.now();
          const r = await chat(token, { 'x-ibex-session': sid });
          statuses.push(r.status);
          if (r.status === 200) ok.push(String(r.headers['x-request-id']));
          const left = PACE_MS - (Date.now() - t0);
          if (left > 0) await new Promise((res) => setTimeout(res, left));
        }
      };
      const storms = (async () => {
        for (const proxy of [pgProxy, chProxy, redisProxy]) {
          await new Promise((r) => setTimeout(r, 500));
          await proxy.down();
          await new Promise((r) => setTimeout(r, 1000));
          await proxy.up();
        }
      })();
      await Promise.all([...Array.from({ length: 8 }, worker), storms]);
      // only successes: the token is cached, so no store outage may refuse a request
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(ok.length).toBeGreaterThan(50);
      expect((await request(`${gw.url}/healthz`)).statusCode).toBe(200);

      // Wait on counts (cheap, and never capped by a list limit), then read everything once.
      const store = await openPostgresStores(pg.url);
      const counter = new pgDriver.Client({ connectionString: pg.url });
      await counter.connect();
      try {
        await until(`${ok.length} checkpoints`, 30_000, async () => {
          const { rows } = await counter.query<{ n: number }>('SELECT count(*)::int AS n FROM checkpoints WHERE session_id = $1', [sid]);
          return rows[0]!.n >= ok.length;
        });
        const cps = await store.sessions.checkpoints(sid);
        expect(new Set(cps.map((c) => c.requestId))).toEqual(new Set(ok));
        expect(cps.map((c) => c.seq)).toEqual(ok.map((_, i) => i + 1));

        const where = `FROM ${ch.name}.traces WHERE session_id = ${quote(sid)}`;
        // Distinct (request, start) pairs: a replayed duplicate ReplacingMergeTree has not merged yet is one trace.
        const traceCount = async () => Number((await clickhouseExec(`SELECT uniqExact(request_id, started_at_ms) ${where}`)).trim());
        await until(`${ok.length} traces`, 30_000, async () => (await traceCount()) >= ok.length);
        const ids = (await clickhouseExec(`SELECT DISTINCT request_id ${where} FORMAT TabSeparated`)).trim().split('\n');
        expect(new Set(ids)).toEqual(new Set(ok));
        expect(await traceCount()).toBe(ok.length); // one trace per request, none twice
      } finally {
        await store.close();
        await counter.end();
      }
      console.log(`[outages] ${ok.length} requests under load through Postgres, ClickHouse and Redis outages: all checkpoints and traces stored`);
    },
    60_000,
  );

  it.skipIf(chUnreachable !== null)('Postgres down: cached tokens keep working, uncached get 503, checkpoints flush after', async () => {
    const { token: cached } = await provision(gw, 'pg-out');
    const { token: uncached } = await provision(gw, 'pg-out-2');
    const sid = 'ses-pg-outage';
    expect((await chat(cached, { 'x-ibex-session': sid })).status).toBe(200);
    await pgProxy.down();
    const during: number[] = [];
    for (let i = 0; i < 5; i++) during.push((await chat(cached, { 'x-ibex-session': sid })).status);
    expect(during).toEqual([200, 200, 200, 200, 200]);
    const refused = await chat(uncached);
    expect(refused.status).toBe(503);
    expect(refused.json.error?.code).toBe('service_unavailable');
    const ready = await request(`${gw.url}/readyz`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
    await pgProxy.up();
    const store = await openPostgresStores(pg.url);
    try {
      const cps = await until('6 checkpoints after Postgres returned', 30_000, async () => {
        const c = await store.sessions.checkpoints(sid);
        return c.length >= 6 ? c : null;
      });
      expect(cps.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await store.close();
    }
    expect((await chat(uncached)).status).toBe(200);
  });
});
