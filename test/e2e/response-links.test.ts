// Responses continuations reaching a gateway process that did not serve the turn they continue: a
// restarted embedded gateway, and a second production replica. The session store answers whose the
// reply (or conversation) id is: its owner's continuation joins the same session and goes to the
// provider key that holds the state; another agent's is refused, as on the process that served it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { provision, startTestGateway, UPSTREAM_KEY, type TestGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';
import { createTestDatabase, describeWithPostgres, POSTGRES_ADMIN_URL, type TestDatabase } from '../helpers/postgres.js';
import { CuttableProxy, deleteKeys, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

interface Answer {
  status: number;
  session: string | undefined;
  body: { id?: string; error?: { code?: string; param?: string | null } };
}

async function respond(gw: TestGateway, token: string, body: Record<string, unknown>): Promise<Answer> {
  const r = await request(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  return { status: r.statusCode, session: r.headers['x-ibex-session'] as string | undefined, body: (await r.body.json()) as Answer['body'] };
}

/** A streamed turn: its session and the id `response.completed` names. */
async function respondStreamed(gw: TestGateway, token: string, body: Record<string, unknown>): Promise<{ status: number; session: string | undefined; id: string | undefined }> {
  const r = await request(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, ...body }),
  });
  const text = await r.body.text();
  const completed = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as { type?: string; response?: { id?: string } })
    .find((e) => e.type === 'response.completed');
  return { status: r.statusCode, session: r.headers['x-ibex-session'] as string | undefined, id: completed?.response?.id };
}

async function retrieve(gw: TestGateway, token: string, id: string): Promise<number> {
  const r = await request(`${gw.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${token}` } });
  await r.body.dump();
  return r.statusCode;
}

/** The checks every process that did not serve turn 1 must pass. */
async function expectKnown(gw: TestGateway, mock: MockUpstream, t: { alice: string; bob: string }, first: { id: string; session: string }, conv: { id: string; session: string }) {
  // Another agent: refused, whatever it names, for the reply and for the conversation
  const bob = await respond(gw, t.bob, { input: 'what did alice say?', previous_response_id: first.id });
  expect([bob.status, bob.body.error?.code]).toEqual([403, 'agent_forbidden']);
  expect(await retrieve(gw, t.bob, first.id)).toBe(403);
  const bobConv = await respond(gw, t.bob, { input: 'and here?', conversation: conv.id });
  expect([bobConv.status, bobConv.body.error?.code]).toEqual([403, 'agent_forbidden']);
  // The owner: the same session, and the provider got the continuation
  const next = await respond(gw, t.alice, { input: 'go on', previous_response_id: first.id });
  expect(next.status).toBe(200);
  expect(next.session).toBe(first.session);
  expect(mock.stats.lastRequest!.body!.previous_response_id).toBe(first.id);
  const convNext = await respond(gw, t.alice, { input: 'more', conversation: conv.id });
  expect([convNext.status, convNext.session]).toEqual([200, conv.session]);
  expect(await retrieve(gw, t.alice, first.id)).toBe(200);
}

describe('embedded: a restarted gateway knows the continuations of the turns before it', () => {
  let mock: MockUpstream;
  let gw: TestGateway | undefined;
  const home = mkdtempSync(join(tmpdir(), 'ibex-links-'));

  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await mock?.close();
  });

  it('after a restart: the owner continues in its session, another agent gets 403', async () => {
    const start = () => startTestGateway({ mock: false, home, env: { IBEX_UPSTREAM_URL: mock.url } });
    gw = await start();
    const alice = await provision(gw, 'alice');
    const bob = await provision(gw, 'bob');
    const first = await respond(gw, alice.token, { input: 'the secret is 42' });
    const conv = await respond(gw, alice.token, { input: 'hello', conversation: 'conv_links_1' });
    expect([first.status, conv.status]).toEqual([200, 200]);
    // A clean stop drains the write-behind: the checkpoints are in the store
    await gw.stop();
    gw = await start();
    await expectKnown(gw, mock, { alice: alice.token, bob: bob.token }, { id: first.body.id!, session: first.session! }, { id: 'conv_links_1', session: conv.session! });
    // An operator finds the turn a client's response id came from
    const shown = (await gw.cli(['sessions', 'show', first.session!])).stdout;
    expect(shown).toMatch(new RegExp(`#1 .* response=${first.body.id}\n`));
    // ...or shows it from that id alone (and from the conversation id)
    expect((await gw.cli(['sessions', 'show', first.body.id!])).stdout).toBe(shown);
    expect((await gw.cli(['sessions', 'show', 'conv_links_1'])).stdout).toContain(`session ${conv.session}`);
    // ...and its turn's upstream view, and replay, without the turn's number
    const upstream = JSON.parse((await gw.cli(['sessions', 'show', first.body.id!, '--upstream', '--json'])).stdout) as { sessionId: string; turn: number };
    expect([upstream.sessionId, upstream.turn]).toEqual([first.session, 1]);
    const sessionUpstream = await gw.cli(['sessions', 'show', first.session!, '--upstream'], { reject: false });
    expect([sessionUpstream.exitCode, sessionUpstream.stderr]).toEqual([2, expect.stringContaining('pass --turn N')]);
    const replayed = await gw.cli(['sessions', 'replay', first.body.id!, '--url', gw.url, '--token', alice.token, '--json']);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayOf: `${first.session}:1`, status: 200 });
    const noTurn = await gw.cli(['sessions', 'replay', 'conv_links_1', '--url', gw.url, '--token', alice.token], { reject: false });
    expect([noTurn.exitCode, noTurn.stderr]).toEqual([2, expect.stringContaining('pass --turn N')]);
  }, 60_000);
});

describe('embedded: a restarted gateway sends a continuation with the key that created the response', () => {
  let pool: MockUpstream;
  let gw: TestGateway | undefined;
  const KEYS = { K_A: 'sk-pool-key-a-0123456789', K_B: 'sk-pool-key-b-0123456789' };

  beforeAll(async () => {
    pool = await startMockUpstream({ port: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await pool?.close();
  });

  it('the response was created with the second key: after the restart, round robin would start at the first; the stored key is used', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ibex-links-keys-'));
    writeFileSync(
      join(home, 'ibex.yaml'),
      `providers:\n  pool: { kind: openai, baseUrl: "${pool.url}", keys: ["\${K_A}", "\${K_B}"], keyStrategy: round_robin }\nmodels:\n  pooled: pool/gpt-4o-mini\n`,
    );
    const start = () => startTestGateway({ home, mock: false, env: { OPENAI_API_KEY: '', ...KEYS } });
    const keyOf = () => (String(pool.stats.lastRequest!.headers.authorization) === `Bearer ${KEYS.K_A}` ? 'a' : 'b');
    gw = await start();
    const { token } = await provision(gw, 'keyed');
    // The second key creates the response (round robin: a, then b); a new process starts at a
    expect((await respond(gw, token, { model: 'pooled', input: 'zero' })).status).toBe(200);
    const first = await respond(gw, token, { model: 'pooled', input: 'one' });
    expect([first.status, keyOf()]).toEqual([200, 'b']);
    await gw.stop();
    gw = await start();
    const used: string[] = [];
    for (const input of ['two', 'three']) {
      expect((await respond(gw, token, { model: 'pooled', input, previous_response_id: first.body.id })).status).toBe(200);
      used.push(keyOf());
    }
    expect(used).toEqual(['b', 'b']);
  }, 60_000);
});

describe('embedded: a restarted gateway continues a Responses conversation it translated for Anthropic', () => {
  let claude: MockUpstream;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    claude = await startMockUpstream({ port: 0, protocol: 'anthropic' });
  });
  afterAll(async () => {
    await gw?.stop();
    await claude?.close();
  });

  it('the earlier turns are read from the store and sent again; another agent gets 403', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ibex-links-translated-'));
    writeFileSync(join(home, 'ibex.yaml'), `providers:\n  claude: { kind: anthropic, baseUrl: "${claude.url}", keys: ["\${K_CLAUDE}"] }\nmodels:\n  sonnet: claude/claude-sonnet-4-5\n`);
    const start = () => startTestGateway({ home, mock: false, env: { OPENAI_API_KEY: '', K_CLAUDE: 'sk-ant-test-0123456789' } });
    gw = await start();
    const alice = await provision(gw, 'alice');
    const bob = await provision(gw, 'bob');
    const one = await respond(gw, alice.token, { model: 'sonnet', input: 'turn one' });
    const two = await respond(gw, alice.token, { model: 'sonnet', input: 'turn two', previous_response_id: one.body.id });
    expect([one.status, two.status]).toEqual([200, 200]);
    await gw.stop();
    // What each turn stores beside its checkpoint is its output only: the input is in the ledger
    const db = new Database(join(home, 'ibex.db'), { readonly: true });
    const kept = db.prepare('SELECT translated_turn FROM checkpoints WHERE translated_turn IS NOT NULL ORDER BY created_at').all() as { translated_turn: string }[];
    db.close();
    expect(kept.map((r) => JSON.parse(r.translated_turn).previous)).toEqual([null, one.body.id]);
    expect(kept.map((r) => Object.keys(JSON.parse(r.translated_turn)).sort())).toEqual([['output', 'previous', 'skip'], ['output', 'previous', 'skip']]);
    gw = await start();
    expect((await respond(gw, bob.token, { model: 'sonnet', input: 'and?', previous_response_id: two.body.id })).status).toBe(403);
    const three = await respond(gw, alice.token, { model: 'sonnet', input: 'turn three', previous_response_id: two.body.id });
    expect([three.status, three.session]).toEqual([200, one.session]);
    const sent = claude.stats.lastRequest!.body as { messages: { role: string; content: unknown }[] };
    const texts = sent.messages.map((m) => `${m.role}:${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`);
    expect(texts).toHaveLength(5);
    expect(texts.filter((t) => t.startsWith('user:')).map((t) => /turn (one|two|three)/.exec(t)?.[0])).toEqual(['turn one', 'turn two', 'turn three']);
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
  }, 60_000);
});

const POOL_KEYS = { K_POOL_A: 'sk-pool-a-0123456789abcdef', K_POOL_B: 'sk-pool-b-0123456789abcdef' };

describeWithPostgres('production: a second replica knows the continuations the first one served', () => {
  let pg: TestDatabase;
  let prefix: string;
  let mock: MockUpstream;
  let claude: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;
  let store: RelationalStores;

  beforeAll(async () => {
    pg = await createTestDatabase('links');
    prefix = uniquePrefix('links');
    mock = await startMockUpstream({ port: 0 });
    claude = await startMockUpstream({ port: 0, protocol: 'anthropic' });
    // Both replicas on one upstream account each (the mock keeps the responses), as production would be
    const yaml =
      `providers:\n  openai: { kind: openai, baseUrl: "${mock.url}", keys: ["\${OPENAI_API_KEY}"] }\n` +
      `  claude: { kind: anthropic, baseUrl: "${claude.url}", keys: ["\${K_CLAUDE}"] }\n` +
      `  pool: { kind: openai, baseUrl: "${mock.url}", keys: ["\${K_POOL_A}", "\${K_POOL_B}"], keyStrategy: round_robin }\n` +
      `models:\n  gpt-4o-mini: openai/gpt-4o-mini\n  sonnet: claude/claude-sonnet-4-5\n  pooled: pool/gpt-4o-mini\n`;
    const env = { IBEX_DATABASE_URL: pg.url, IBEX_REDIS_URL: REDIS_TEST_URL, IBEX_REDIS_PREFIX: prefix, OPENAI_API_KEY: UPSTREAM_KEY, K_CLAUDE: 'sk-ant-test-0123456789', ...POOL_KEYS };
    const home = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), `ibex-links-${name}-`));
      writeFileSync(join(dir, 'ibex.yaml'), yaml);
      return dir;
    };
    a = await startTestGateway({ mock: false, env, home: home('a') });
    b = await startTestGateway({ mock: false, env, home: home('b') });
    store = await openPostgresStores(pg.url);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await mock?.close();
    await claude?.close();
    await pg?.drop();
    if (prefix) await deleteKeys(prefix);
  });

  it('turns served by replica A are continued on replica B in the same session; another agent gets 403 there', async () => {
    const alice = await provision(a, 'alice');
    const bob = await provision(a, 'bob');
    const first = await respond(a, alice.token, { input: 'the secret is 42' });
    const conv = await respond(a, alice.token, { input: 'hello', conversation: 'conv_links_2' });
    expect([first.status, conv.status]).toEqual([200, 200]);
    // The write-behind lands the checkpoints within its delay
    const deadline = Date.now() + 10_000;
    while (!(await store.sessions.findResponseLink('conv_links_2')) || !(await store.sessions.findResponseLink(first.body.id!))) {
      if (Date.now() > deadline) throw new Error('checkpoints not written in 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await expectKnown(b, mock, { alice: alice.token, bob: bob.token }, { id: first.body.id!, session: first.session! }, { id: 'conv_links_2', session: conv.session! });
  }, 60_000);

  it('a Responses conversation translated for Anthropic goes on at once on the other replica (its turn still in the write-behind)', async () => {
    const carol = await provision(a, 'carol');
    let previous: string | undefined;
    let session: string | undefined;
    // turns alternate between the replicas, each sent as soon as the one before answered
    for (const [i, gw] of [a, b, a, b].entries()) {
      const r = await respond(gw, carol.token, { model: 'sonnet', input: `turn ${i + 1}`, ...(previous ? { previous_response_id: previous } : {}) });
      expect(r.status).toBe(200);
      if (session) expect(r.session).toBe(session);
      session = r.session;
      previous = r.body.id;
    }
    const sent = claude.stats.lastRequest!.body as { messages: { role: string }[] };
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
  }, 60_000);

  it('a native tool round trip on a key pool, each turn sent at once to the other replica: one session, the key that created the state', async () => {
    const frank = await provision(a, 'frank');
    const keyOf = () => (String(mock.stats.lastRequest!.headers.authorization) === `Bearer ${POOL_KEYS.K_POOL_A}` ? 'a' : 'b');
    let previous: string | undefined;
    let session: string | undefined;
    const keys: string[] = [];
    for (const [i, gw] of [a, b, a, b, a].entries()) {
      const r = await respond(gw, frank.token, { model: 'pooled', input: `step ${i}`, ...(previous ? { previous_response_id: previous } : {}) });
      expect(r.status).toBe(200);
      if (session) expect(r.session).toBe(session);
      session = r.session;
      previous = r.body.id;
      keys.push(keyOf());
    }
    expect(new Set(keys).size).toBe(1);
  }, 60_000);

  it("a conversation's next turn sent at once to the other replica (its first turn still in the write-behind): the same session and key; another agent is refused", async () => {
    const grace = await provision(a, 'grace');
    const heidi = await provision(a, 'heidi');
    const keyOf = () => (String(mock.stats.lastRequest!.headers.authorization) === `Bearer ${POOL_KEYS.K_POOL_A}` ? 'a' : 'b');
    for (let c = 0; c < 4; c++) {
      const conversation = `conv_at_once_${c}_${randomBytes(4).toString('hex')}`;
      const first = await respond(a, grace.token, { model: 'pooled', input: 'first', conversation });
      expect(first.status).toBe(200);
      const key = keyOf();
      // A conversation id is not waited for (a new one would pay the wait): another replica knows it at once or never
      const intruder = await respond(b, heidi.token, { model: 'pooled', input: 'mine now', conversation });
      expect([intruder.status, intruder.body.error?.code]).toEqual([403, 'agent_forbidden']);
      const next = await respond(b, grace.token, { model: 'pooled', input: 'second', conversation });
      expect([next.status, next.session]).toEqual([200, first.session]);
      expect(keyOf()).toBe(key);
    }
  }, 60_000);

  it('streamed turns on a key pool, each continued at once on the other replica: one session, the key that created the state', async () => {
    const kim = await provision(a, 'kim');
    const keyOf = () => (String(mock.stats.lastRequest!.headers.authorization) === `Bearer ${POOL_KEYS.K_POOL_A}` ? 'a' : 'b');
    let previous: string | undefined;
    let session: string | undefined;
    const keys: string[] = [];
    for (const [i, gw] of [a, b, a, b, a, b].entries()) {
      const r = await respondStreamed(gw, kim.token, { model: 'pooled', input: `streamed step ${i}`, ...(previous ? { previous_response_id: previous } : {}) });
      expect([r.status, typeof r.id]).toEqual([200, 'string']);
      if (session) expect(r.session).toBe(session);
      session = r.session;
      previous = r.id;
      keys.push(keyOf());
    }
    expect(new Set(keys).size).toBe(1);
  }, 60_000);

  it('20 translated conversations at once, each turn on the other replica: each gets exactly its own turns, in one session', async () => {
    const erin = await provision(a, 'erin');
    const outputText = (body: Answer['body']) => ((body as { output?: { content?: { text?: string }[] }[] }).output?.[0]?.content?.[0]?.text ?? '');
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        let previous: string | undefined;
        let session: string | undefined;
        let last: Answer | undefined;
        for (let t = 0; t < 4; t++) {
          last = await respond(t % 2 === 0 ? a : b, erin.token, { model: 'sonnet', input: `conv ${c} turn ${t}`, ...(previous ? { previous_response_id: previous } : {}) });
          expect(last.status).toBe(200);
          if (session) expect(last.session).toBe(session);
          session = last.session;
          previous = last.body.id;
        }
        // The mock echoes what it was sent: this conversation's four user turns, no other's
        const sent = JSON.parse(outputText(last!.body).replace(/^echo:/, '')) as { messages: { role: string; content: unknown }[] };
        const users = sent.messages.filter((m) => m.role === 'user').map((m) => JSON.stringify(m.content).match(/conv \d+ turn \d/)?.[0]);
        expect(users).toEqual([0, 1, 2, 3].map((t) => `conv ${c} turn ${t}`));
      }),
    );
  }, 90_000);

  it("a caller's over-long conversation id is kept out of the index: its checkpoint and the ones after are written", async () => {
    const dave = await provision(a, 'dave');
    // random, so Postgres cannot compress the index entry under its ~2.7 kB limit
    const long = 'conv_' + randomBytes(3000).toString('hex');
    const first = await respond(a, dave.token, { input: 'long id', conversation: long });
    const after = await respond(a, dave.token, { input: 'after it' });
    expect([first.status, after.status]).toEqual([200, 200]);
    const deadline = Date.now() + 10_000;
    while (!(await store.sessions.findResponseLink(after.body.id!))) {
      if (Date.now() > deadline) throw new Error('the checkpoint after the long id was not written in 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await store.sessions.checkpoints(first.session!)).toHaveLength(1);
    // in memory it still links: the same process keeps the conversation in its session
    const again = await respond(a, dave.token, { input: 'long id again', conversation: long });
    expect(again.session).toBe(first.session);
  }, 60_000);
});

describeWithPostgres("production: a replica whose Postgres is down continues the turns another replica just served (Redis knows them)", () => {
  let pg: TestDatabase;
  let prefix: string;
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;
  let store: RelationalStores;
  const pgProxy = new CuttableProxy(new URL(POSTGRES_ADMIN_URL));

  beforeAll(async () => {
    pg = await createTestDatabase('links_outage');
    prefix = uniquePrefix('links-outage');
    mock = await startMockUpstream({ port: 0 });
    await pgProxy.up();
    const viaProxy = new URL(pg.url);
    viaProxy.port = String(pgProxy.port);
    const env = { IBEX_UPSTREAM_URL: mock.url, IBEX_REDIS_URL: REDIS_TEST_URL, IBEX_REDIS_PREFIX: prefix, OPENAI_API_KEY: UPSTREAM_KEY };
    a = await startTestGateway({ mock: false, env: { ...env, IBEX_DATABASE_URL: pg.url } });
    b = await startTestGateway({ mock: false, env: { ...env, IBEX_DATABASE_URL: viaProxy.toString() } });
    store = await openPostgresStores(pg.url);
  }, 60_000);

  afterAll(async () => {
    await pgProxy.up().catch(() => {});
    await Promise.all([a?.stop(), b?.stop()]);
    await pgProxy.down();
    await store?.close();
    await mock?.close();
    await pg?.drop();
    if (prefix) await deleteKeys(prefix);
  });

  it('the owner continues in its session (its checkpoint spooled, written when Postgres is back); another agent is refused', async () => {
    const ivan = await provision(a, 'ivan');
    const judy = await provision(a, 'judy');
    // B has met both PATs (its auth cache answers while Postgres is down)
    for (const t of [ivan.token, judy.token]) expect((await respond(b, t, { input: 'hello b' })).status).toBe(200);
    const first = await respond(a, ivan.token, { input: 'the plan is ready' });
    const conv = await respond(a, ivan.token, { input: 'hello', conversation: 'conv_outage_1' });
    expect([first.status, conv.status]).toEqual([200, 200]);
    await pgProxy.down();
    const next = await respond(b, ivan.token, { input: 'go on', previous_response_id: first.body.id });
    expect([next.status, next.body.error?.code, next.session]).toEqual([200, undefined, first.session]);
    expect(mock.stats.lastRequest!.body!.previous_response_id).toBe(first.body.id);
    const convNext = await respond(b, ivan.token, { input: 'more', conversation: 'conv_outage_1' });
    expect([convNext.status, convNext.session]).toEqual([200, conv.session]);
    const judyNext = await respond(b, judy.token, { input: 'mine', previous_response_id: first.body.id });
    expect([judyNext.status, judyNext.body.error?.code]).toEqual([403, 'agent_forbidden']);
    await pgProxy.up();
    // nothing lost: B's checkpoint of the continuation lands in the session once Postgres answers
    const deadline = Date.now() + 20_000;
    while ((await store.sessions.checkpoints(first.session!)).length < 2) {
      if (Date.now() > deadline) throw new Error("the continuation's checkpoint was not written within 20 s of Postgres' return");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await store.sessions.checkpoints(first.session!)).map((c) => c.requestId)).toHaveLength(2);
  }, 60_000);
});
