// One request with a NUL and a lone surrogate in its model and messages, then 300 normal ones, through
// a real gateway in Postgres-only mode (checkpoints and traces both in Postgres): every one of them is
// stored. Before the fix Postgres refused the batch holding the first request (22021), the queues
// retried it first forever, and none of the 300 was ever written.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import pgDriver from 'pg';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';

const NORMAL = 300;

describeWithPostgres('a poisoned request never blocks the write-behind queues (Postgres only)', () => {
  let db: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('poisoned_request');
    gw = await startTestGateway({ env: { IBEX_DATABASE_URL: db.url } });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it(`the poisoned request and ${NORMAL} normal ones are all stored`, async () => {
    const { token } = await provision(gw, 'poison');
    const sid = 'ses-poisoned';
    const chat = (model: string, content: string) =>
      request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': sid },
        body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
      }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });

    expect(await chat('gpt\u0000-4o\ud800', 'hello\u0000\udfff')).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < NORMAL; i += 10) {
      statuses.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => chat('gpt-4o-mini', `turn ${i + j}`)))));
    }
    expect(statuses.every((s) => s === 200)).toBe(true);

    const client = new pgDriver.Client({ connectionString: db.url });
    await client.connect();
    try {
      const count = async (table: string) =>
        (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE session_id = $1`, [sid])).rows[0]!.n;
      const deadline = Date.now() + 30_000;
      while ((await count('checkpoints')) < NORMAL + 1 || (await count('traces')) < NORMAL + 1) {
        if (Date.now() > deadline) throw new Error(`not all stored: ${await count('checkpoints')} checkpoints, ${await count('traces')} traces\n${gw.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await count('checkpoints')).toBe(NORMAL + 1);
      expect(await count('traces')).toBe(NORMAL + 1);
      const { rows } = await client.query<{ model: string }>('SELECT model FROM checkpoints WHERE session_id = $1 ORDER BY created_at LIMIT 1', [sid]);
      expect(rows[0]).toEqual({ model: 'gpt\uFFFD-4o\uFFFD' });
      // The messages live in the ledger (one row per distinct message): stored cleaned.
      const bodies = (await client.query<{ body: string }>('SELECT m.body FROM messages m JOIN message_sessions s ON s.message_id = m.id WHERE s.session_id = $1', [sid])).rows;
      expect(bodies.map((b) => JSON.parse(b.body))).toContainEqual({ role: 'user', content: 'hello\uFFFD\uFFFD' });
    } finally {
      await client.end();
    }
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(/^ibex_dead_letter_total\{queue="checkpoints"\} 0$/m); // cleaned, not set aside
    expect(metrics).toMatch(/^ibex_dead_letter_total\{queue="traces"\} 0$/m);
    expect(gw.output()).not.toMatch(/write failed|refused/);
  }, 90_000);
});
