// A session belongs to exactly one agent, on every replica (issue 11, item 2). Two `ibex serve`
// replicas on one Postgres; agents A and B race, through different replicas, on a session id the
// callers chose. Whoever wins, only that agent's turns may ever be in the session, and the other is
// told 403 agent_forbidden. Replica R1 reaches Postgres through a proxy the test can cut, to check
// that a session store that does not answer refuses a named session (503) instead of skipping the check.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, describeWithPostgres, POSTGRES_ADMIN_URL, type TestDatabase } from '../helpers/postgres.js';
import { CuttableProxy } from '../helpers/redis.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

const TRIALS = 50;

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | false | undefined>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithPostgres('session ownership across two replicas on one Postgres', () => {
  let pg: TestDatabase;
  const proxy = new CuttableProxy(new URL(POSTGRES_ADMIN_URL));
  let r1: TestGateway;
  let r2: TestGateway;
  let store: RelationalStores;
  let tokenA: string;
  let tokenB: string;

  const chat = (gw: TestGateway, token: string, headers: Record<string, string> = {}) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    }).then(async (r) => ({
      status: r.statusCode,
      headers: r.headers,
      json: JSON.parse(await r.body.text()) as { error?: { code: string } },
    }));

  beforeAll(async () => {
    pg = await createTestDatabase('ownership');
    await proxy.up();
    const viaProxy = new URL(pg.url);
    viaProxy.port = String(proxy.port);
    const env = { IBEX_POLL_INTERVAL_MS: '500' };
    [r1, r2] = await Promise.all([
      startTestGateway({ env: { ...env, IBEX_DATABASE_URL: viaProxy.toString() }, home: mkdtempSync(join(tmpdir(), 'ibex-own-1-')) }),
      startTestGateway({ env: { ...env, IBEX_DATABASE_URL: pg.url }, home: mkdtempSync(join(tmpdir(), 'ibex-own-2-')) }),
    ]);
    ({ token: tokenA } = await provision(r2, 'agent-a'));
    ({ token: tokenB } = await provision(r2, 'agent-b'));
    // Tokens and agents cached on both replicas before the races and the outage.
    for (const gw of [r1, r2]) for (const t of [tokenA, tokenB]) expect((await chat(gw, t)).status).toBe(200);
    store = await openPostgresStores(pg.url);
  }, 90_000);

  afterAll(async () => {
    await proxy.up().catch(() => {});
    await Promise.all([r1?.stop(), r2?.stop()]);
    await proxy.down();
    await store?.close();
    await pg?.drop();
  });

  it(`A and B racing on one new session id through two replicas: exactly one agent ever writes (${TRIALS} trials)`, async () => {
    const sessions: { sid: string; winner: string }[] = [];
    const losers: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const sid = `race-${i}-${randomBytes(4).toString('hex')}`;
      // Alternate which agent goes through which replica.
      const [gwA, gwB] = i % 2 ? [r1, r2] : [r2, r1];
      const [a, b] = await Promise.all([chat(gwA, tokenA, { 'x-ibex-session': sid }), chat(gwB, tokenB, { 'x-ibex-session': sid })]);
      const statuses = [a.status, b.status].sort();
      expect(statuses, `trial ${i}`).toEqual([200, 403]);
      const loser = a.status === 403 ? a : b;
      expect(loser.json.error?.code).toBe('agent_forbidden');
      losers.push(a.status === 403 ? 0 : 1);
      sessions.push({ sid, winner: a.status === 200 ? 'agent-a' : 'agent-b' });
      // The winner keeps its session on either replica; the loser stays out on either.
      const winnerToken = a.status === 200 ? tokenA : tokenB;
      const loserToken = a.status === 200 ? tokenB : tokenA;
      expect((await chat(gwA === r1 ? r2 : r1, winnerToken, { 'x-ibex-session': sid })).status).toBe(200);
      expect((await chat(gwB === r1 ? r2 : r1, loserToken, { 'x-ibex-session': sid })).status).toBe(403);
    }
    for (const { sid, winner } of sessions) {
      const cps = await until(`2 checkpoints of ${sid}`, 10_000, async () => {
        const c = await store.sessions.checkpoints(sid);
        return c.length >= 2 ? c : null;
      });
      expect(cps.map((c) => c.agent)).toEqual([winner, winner]);
      expect(await store.sessions.getSession(sid)).toMatchObject({ agent: winner, turns: 2 });
    }
    // Nothing else arrives later (write-behind is flushed within a second).
    await new Promise((r) => setTimeout(r, 1500));
    for (const { sid, winner } of sessions) {
      const cps = await store.sessions.checkpoints(sid);
      expect(cps.every((c) => c.agent === winner) && cps.length === 2).toBe(true);
    }
    console.log(`[ownership] ${TRIALS} races: A won ${losers.filter((l) => l === 1).length}, B won ${losers.filter((l) => l === 0).length}; never both`);
  }, 120_000);

  it('the session store not answering: a new named session is refused with 503 (fail closed); known ones and new unnamed ones are served', async () => {
    const known = `known-${randomBytes(4).toString('hex')}`;
    expect((await chat(r1, tokenA, { 'x-ibex-session': known })).status).toBe(200);
    await proxy.down();
    try {
      const fresh = await chat(r1, tokenA, { 'x-ibex-session': `fresh-${randomBytes(4).toString('hex')}` });
      expect(fresh.status).toBe(503);
      expect(fresh.json.error?.code).toBe('service_unavailable');
      // The owner of `known` is cached in this process: its turns go on (checkpoints queue).
      expect((await chat(r1, tokenA, { 'x-ibex-session': known })).status).toBe(200);
      // A session ibex generates needs no answer first: only ibex knows its id before the reply.
      const unnamed = await chat(r1, tokenA);
      expect(unnamed.status).toBe(200);
      expect(String(unnamed.headers['x-ibex-session'])).toMatch(/^ses_/);
    } finally {
      await proxy.up();
    }
    expect(r1.output()).toMatch(/sessions: \d+ claim\(s\) failed, named sessions refused with 503/);
    const cps = await until(`2 checkpoints of ${known}`, 15_000, async () => {
      const c = await store.sessions.checkpoints(known);
      return c.length >= 2 ? c : null;
    });
    expect(cps.map((c) => c.agent)).toEqual(['agent-a', 'agent-a']);
  }, 60_000);
});
