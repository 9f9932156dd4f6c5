// Production mode: two `ibex serve` replicas on one Postgres + Redis + ClickHouse (fresh database,
// key prefix and ClickHouse database per run). The test calls both directly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { echoed, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';
import { deleteKeys, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { probeClickHouse, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';
import { openClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

const chUnreachable = await probeClickHouse();
if (chUnreachable && process.env.CI === 'true') throw new Error(`ClickHouse required in CI: ${chUnreachable}`);

describeWithPostgres('two replicas on Postgres + Redis + ClickHouse', () => {
  let pg: TestDatabase;
  let ch: TestClickHouseDatabase;
  let prefix: string;
  let a: TestGateway;
  let b: TestGateway;
  let store: RelationalStores;
  let traces: Awaited<ReturnType<typeof openClickHouseTraceSink>>;

  const chat = (gw: TestGateway, token: string, content = 'x', headers: Record<string, string> = {}) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] }),
    }).then(async (r) => ({ status: r.statusCode, headers: r.headers, text: await r.body.text() }));

  beforeAll(async () => {
    if (chUnreachable) return;
    pg = await createTestDatabase('replicas');
    ch = testClickHouseDatabase('replicas');
    prefix = uniquePrefix('replicas');
    const env = {
      IBEX_DATABASE_URL: pg.url,
      IBEX_REDIS_URL: REDIS_TEST_URL,
      IBEX_REDIS_PREFIX: prefix,
      IBEX_CLICKHOUSE_URL: ch.url,
      IBEX_POLL_INTERVAL_MS: '1000',
    };
    // Both start at once: migrations must serialise (advisory lock), not collide.
    [a, b] = await Promise.all([
      startTestGateway({ env, home: mkdtempSync(join(tmpdir(), 'ibex-rep-a-')) }),
      startTestGateway({ env, home: mkdtempSync(join(tmpdir(), 'ibex-rep-b-')) }),
    ]);
    for (const gw of [a, b]) {
      expect(gw.output()).toMatch(/storage: postgres postgres:\/\/127\.0\.0\.1:5432\//);
      expect(gw.output()).toContain('bus: redis');
      expect(gw.output()).toContain('traces: clickhouse');
    }
    store = await openPostgresStores(pg.url);
    traces = await openClickHouseTraceSink(ch.url);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await traces?.close();
    await pg?.drop();
    await ch?.drop();
    if (prefix) await deleteKeys(prefix);
  });

  it.skipIf(chUnreachable !== null)('a PAT revoked with the CLI is rejected by both replicas within 5 s', async () => {
    const { token, id } = await provision(a, 'rev');
    expect((await chat(a, token)).status).toBe(200);
    expect((await chat(b, token)).status).toBe(200);
    const t0 = Date.now();
    await a.cli(['pat', 'revoke', id]);
    const cliMs = Date.now() - t0;
    const seen = await Promise.all(
      [a, b].map(async (gw) => {
        for (;;) {
          if ((await chat(gw, token)).status === 401) return Date.now() - t0;
          if (Date.now() - t0 > 5000) throw new Error('still accepted after 5 s');
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    console.log(`[replicas] revoke CLI took ${cliMs} ms; rejected by A after ${seen[0]} ms, B after ${seen[1]} ms (from CLI start)`);
    expect(Math.max(...seen)).toBeLessThan(5000);
  });

  it.skipIf(chUnreachable !== null)('--rpm 10 on a PAT allows 10 requests in total across both', async () => {
    const { token } = await provision(a, 'rpm', { patArgs: ['--rpm', '10'] });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await chat(i % 2 ? a : b, token)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it.skipIf(chUnreachable !== null)('a directive set is used by both within 2 s', async () => {
    const { token } = await provision(a, 'dir', { directive: 'D1' });
    for (const gw of [a, b]) expect(echoed(JSON.parse((await chat(gw, token)).text).choices[0].message.content)[0]!.content).toBe('D1');
    const t0 = Date.now();
    await b.cli(['directive', 'set', 'dir', '--text', 'D2']);
    const setDone = Date.now();
    for (const gw of [a, b]) {
      for (;;) {
        const first = echoed(JSON.parse((await chat(gw, token)).text).choices[0].message.content)[0]!.content;
        if (first === 'D2') break;
        if (Date.now() - setDone > 2000) throw new Error('directive not in use within 2 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(Date.now() - setDone).toBeLessThan(2000);
    void t0;
  });

  // The 500 ms bound of docs/traces.md is the emitter's (test/integration/clickhouse-traces.test.ts
  // checks it on the median, with 1.5 s for outliers). Here the trace also waits for ClickHouse 18.16's
  // own insert, which writes a part of ~80 files: 50–175 ms on this VM idle, 400+ ms while the rest of
  // the suite runs (98–422 ms measured, one run over 500). So this test holds the same 1.5 s ceiling
  // and logs what it saw.
  it.skipIf(chUnreachable !== null)('traces from both replicas are in ClickHouse within 1.5 s; a session alternating replicas is one ordered sequence', async () => {
    const { token } = await provision(a, 'ses');
    const sid = 'ses-alternating';
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await chat(i % 2 ? b : a, token, `turn ${i}`, { 'x-ibex-session': sid });
      expect(r.status).toBe(200);
      ids.push(String(r.headers['x-request-id']));
    }
    const done = Date.now();
    for (;;) {
      const got = await traces.list({ sessionId: sid, limit: 100 });
      if (ids.every((id) => got.some((t) => t.requestId === id))) break;
      if (Date.now() - done > 1_500) throw new Error(`only ${got.length}/6 traces in ClickHouse after 1.5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t = Date.now() - done;
    console.log(`[replicas] 6 traces from 2 replicas in ClickHouse ${t} ms after the last reply`);
    for (;;) {
      const cps = await store.sessions.checkpoints(sid);
      if (cps.length === 6) {
        expect(cps.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(cps.map((c) => c.requestId)).toEqual(ids);
        break;
      }
      if (Date.now() - done > 3000) throw new Error(`checkpoints: ${cps.length}/6`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
