// Issue 17 through a real `ibex serve` on SQLite: what the agents' policies did and the response
// cache's answer are on the stored trace and checkpoint (read back from the database file), in the
// admin API, and in `ibex traces show` / `ibex sessions show`.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const YAML = `
agents:
  guarded:
    policies:
      - { use: deny-patterns, patterns: ["(?i)password"] }
      - { use: pii-redact, on: [request] }
  cached:
    cache: { ttl: 10m }
`;

describe('policy decisions and cache status on traces and checkpoints (sqlite)', () => {
  let gw: TestGateway;
  let store: RelationalStores;
  const tokens: Record<string, string> = {};

  const chat = async (agent: string, content: string, requestId: string) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[agent]}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    });
    await res.text();
    return { status: res.status, session: res.headers.get('x-ibex-session')!, cache: res.headers.get('x-ibex-cache') };
  };
  const storedTrace = (clientRequestId: string) =>
    waitFor(async () => (await store.traces.list({ requestId: clientRequestId }))[0], `the trace of ${clientRequestId}`);
  const storedCheckpoint = (sessionId: string) => waitFor(async () => (await store.sessions.checkpoints(sessionId))[0], `the checkpoint of ${sessionId}`);

  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'ibex-decisions-'));
    writeFileSync(join(home, 'ibex.yaml'), YAML);
    gw = await startTestGateway({ home });
    for (const agent of ['guarded', 'cached']) tokens[agent] = (await provision(gw, agent)).token;
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
  });

  it('deny-patterns: the blocked request\'s trace records the reject; `ibex traces show` names it', async () => {
    const r = await chat('guarded', 'my password is hunter2', 'blocked-1');
    expect(r.status).toBe(400);
    const t = await storedTrace('blocked-1');
    expect(t).toMatchObject({ status: 400, errorCode: 'policy_violation', cacheStatus: null });
    expect(t.policyDecisions).toEqual([{ policy: 'deny-patterns', phase: 'request', action: 'reject', detail: expect.stringContaining('#1') }]);
    const shown = (await gw.cli(['traces', 'show', 'blocked-1'])).stdout;
    expect(shown).toMatch(/^policy: deny-patterns request reject: .*#1/m);
    expect(shown).toMatch(/^cache: -$/m);
  });

  it('pii-redact: the checkpoint records the modify (and keeps only the redacted text)', async () => {
    const r = await chat('guarded', 'mail jane.doe@example.com please', 'pii-1');
    expect(r.status).toBe(200);
    const cp = await storedCheckpoint(r.session);
    const decision = { policy: 'pii-redact', phase: 'request', action: 'modify', detail: 'redacted 1 email' };
    expect(cp.policyDecisions).toEqual([decision]);
    expect(JSON.stringify(cp.messages)).toContain('[REDACTED_EMAIL]');
    expect(JSON.stringify(cp.messages)).not.toContain('jane.doe');
    expect((await storedTrace('pii-1')).policyDecisions).toEqual([decision]);
    const shown = (await gw.cli(['sessions', 'show', r.session])).stdout;
    expect(shown).toContain('  policy: pii-redact request modify: redacted 1 email\n');
    expect(shown).not.toContain('cache:'); // no cache for this agent: nothing to say
    const json = JSON.parse((await gw.cli(['sessions', 'show', r.session, '--json'])).stdout);
    expect(json.checkpoints[0].policyDecisions).toEqual([decision]);
  });

  it('response cache: the hit is on the trace and the checkpoint, in the admin API and the CLI', async () => {
    const content = `cache me ${Math.random()}`;
    const miss = await chat('cached', content, 'cache-miss-1');
    const hit = await chat('cached', content, 'cache-hit-1');
    expect([miss.cache, hit.cache]).toEqual(['miss', 'hit']);
    expect((await storedTrace('cache-miss-1')).cacheStatus).toBe('miss');
    expect(await storedTrace('cache-hit-1')).toMatchObject({ cacheStatus: 'hit', policyDecisions: null });
    expect((await storedCheckpoint(hit.session)).cacheStatus).toBe('hit');

    expect((await gw.cli(['traces', 'show', 'cache-hit-1'])).stdout).toMatch(/^policy: none\ncache: hit$/m);
    expect((await gw.cli(['sessions', 'show', hit.session])).stdout).toContain('  cache: hit\n');

    const adminToken = readFileSync(join(gw.home, 'admin-token'), 'utf8').trim();
    const res = await fetch(`${gw.url}/admin/v1/traces?requestId=cache-hit-1`, { headers: { authorization: `Bearer ${adminToken}` } });
    const page = (await res.json()) as { data: Record<string, unknown>[] };
    expect(page.data[0]).toMatchObject({ cacheStatus: 'hit', policyDecisions: null });
    const session = await fetch(`${gw.url}/admin/v1/sessions/${hit.session}`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await session.json()) as { checkpoints: Record<string, unknown>[] }).checkpoints[0]).toMatchObject({ cacheStatus: 'hit' });
  });

  it('`ibex traces show` of an unknown id is a user error', async () => {
    const r = await gw.cli(['traces', 'show', 'no-such-request'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no trace "no-such-request"');
  });
});
