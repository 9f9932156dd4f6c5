// Issue 8, item 5 (access): `/admin/*` needs the admin token, compared in constant time; a PAT is not an
// admin token and the admin token is not a PAT; /metrics (unauthenticated by design, see
// docs/security.md) carries no secret and no caller-chosen string.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, UPSTREAM_KEY, type TestGateway } from '../helpers/gateway.js';
import { bearerMatches, EVENTS_PATH } from '../../src/server/routes/admin.js';

async function adminGet(url: string, authorization?: string, path = EVENTS_PATH) {
  const ac = new AbortController();
  const res = await request(`${url}${path}`, { headers: authorization === undefined ? {} : { authorization }, signal: ac.signal });
  return { res, close: () => ac.abort() };
}

/** Reads an SSE body until `pattern` appears (or the time is up); returns what was read. */
async function readUntil(body: AsyncIterable<Buffer>, pattern: RegExp, ms: number): Promise<string> {
  let text = '';
  const deadline = Date.now() + ms;
  const it = body[Symbol.asyncIterator]();
  while (!pattern.test(text) && Date.now() < deadline) {
    const next = await Promise.race([it.next(), new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())))]);
    if (next === null || next.done) break;
    text += next.value.toString('utf8');
  }
  return text;
}

async function expectAdminDenied(url: string, authorization?: string) {
  const { res } = await adminGet(url, authorization);
  const body = (await res.body.json()) as { error: { code: string; type: string; message: string } };
  expect(res.statusCode, String(authorization)).toBe(401);
  expect(body.error.code).toBe('invalid_admin_token');
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(res.headers['content-type']).toMatch(/application\/json/);
}

describe('admin access: /admin/v1/events with the generated admin token', () => {
  let gw: TestGateway;
  let adminToken: string;
  let pat: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    adminToken = readFileSync(join(gw.home, 'admin-token'), 'utf8').trim();
    ({ token: pat } = await provision(gw, 'admin-test'));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('without a token: 401 invalid_admin_token', async () => {
    await expectAdminDenied(gw.url);
    await expectAdminDenied(gw.url, '');
    await expectAdminDenied(gw.url, 'Bearer');
    await expectAdminDenied(gw.url, 'Bearer ');
  });

  it('a wrong token of the same length, a prefix, a longer one, other schemes: 401', async () => {
    const last = adminToken.at(-1)!;
    const sameLength = adminToken.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    expect(sameLength).toHaveLength(adminToken.length);
    await expectAdminDenied(gw.url, `Bearer ${sameLength}`);
    await expectAdminDenied(gw.url, `Bearer ${adminToken.slice(0, -1)}`);
    await expectAdminDenied(gw.url, `Bearer ${adminToken}x`);
    await expectAdminDenied(gw.url, `Bearer ${adminToken.toUpperCase()}`);
    await expectAdminDenied(gw.url, adminToken); // no scheme
    await expectAdminDenied(gw.url, `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}`);
    await expectAdminDenied(gw.url, `Token ${adminToken}`);
    // Its digest is not the token either.
    await expectAdminDenied(gw.url, `Bearer ${createHash('sha256').update(adminToken).digest('hex')}`);
  });

  it('the token in the query string is not accepted', async () => {
    const { res } = await adminGet(gw.url, undefined, `${EVENTS_PATH}?token=${encodeURIComponent(adminToken)}&access_token=${encodeURIComponent(adminToken)}`);
    await res.body.text();
    expect(res.statusCode).toBe(401);
  });

  it('a PAT is not an admin token, and the admin token is not a PAT', async () => {
    await expectAdminDenied(gw.url, `Bearer ${pat}`);
    const chat = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(chat.statusCode).toBe(401);
    expect(((await chat.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const models = await request(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${adminToken}` } });
    await models.body.text();
    expect(models.statusCode).toBe(401);
  });

  it('the right token: 200 text/event-stream, and traces arrive on it', async () => {
    const { res, close } = await adminGet(gw.url, `Bearer ${adminToken}`);
    try {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['cache-control']).toMatch(/no-cache/);
      const first = await readUntil(res.body, /: connected/, 2000);
      expect(first).toContain(': connected');
      const chat = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pat}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'to the admin stream' }] }),
      });
      await chat.body.text();
      expect(chat.statusCode).toBe(200);
      const events = await readUntil(res.body, /event: trace\ndata: .*\n\n/, 5000);
      const data = /event: trace\ndata: (.*)\n\n/.exec(events)![1]!;
      const trace = JSON.parse(data) as Record<string, unknown>;
      expect(trace.agent).toBe('admin-test');
      // Traces are metadata only: no prompt text, no secret.
      expect(data).not.toContain('to the admin stream');
      expect(data).not.toContain(pat);
      expect(data).not.toContain(UPSTREAM_KEY);
    } finally {
      close();
    }
  });

  it('the scheme is case-insensitive and extra spaces are tolerated (RFC 7235)', async () => {
    for (const header of [`bearer ${adminToken}`, `BEARER ${adminToken}`, `Bearer   ${adminToken}`, `Bearer ${adminToken}  `]) {
      const { res, close } = await adminGet(gw.url, header);
      expect(res.statusCode, header).toBe(200);
      close();
    }
  });

  it('/metrics is served without auth and holds no secret and no caller-chosen string', async () => {
    // Caller-chosen strings that must not become label values: an unknown agent, a model name.
    const send = (headers: Record<string, string>, model: string) =>
      request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pat}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
      }).then((r) => r.body.text());
    await send({ 'x-ibex-agent': 'evil-agent-label' }, 'm');
    await send({}, 'evil-model-label');
    await send({ 'x-ibex-session': 'evil-session-label', 'x-request-id': 'evil-request-label' }, 'm');
    const res = await request(`${gw.url}/metrics`);
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(text).toMatch(/ibex_/);
    expect(text).toContain('agent="admin-test"'); // the verified agent is a label…
    for (const s of [pat, pat.slice(17), adminToken, UPSTREAM_KEY, 'evil-agent-label', 'evil-model-label', 'evil-session-label', 'evil-request-label']) {
      expect(text).not.toContain(s); // …nothing else a caller chose is
    }
  });
});

describe('access: sessions belong to their agent', () => {
  let gw: TestGateway;
  let patA: string;
  let patB: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ token: patA } = await provision(gw, 'owner-a'));
    ({ token: patB } = await provision(gw, 'intruder-b'));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const chat = async (token: string, session: string, content: string) => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': session },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] }),
    });
    await res.body.text();
    return res.statusCode;
  };

  // Regression guard (was a bug, now fixed): session-not-scoped: X-Ibex-Session ids are chosen by callers and not bound to an agent or a
  // PAT. The SQL stores insert the session on first use (`ON CONFLICT (id) DO NOTHING`) and then append
  // any later checkpoint to it, so a PAT of agent B that names agent A's session id writes its turns
  // into A's session (turn count, token totals and `ibex sessions show` all mix the two). Reading is not
  // possible over HTTP, but the record of A's conversation is no longer A's. Expected: a request whose
  // session exists for another agent is refused (403/409), or session ids are namespaced per agent.
  it('regression session-not-scoped: a PAT of another agent cannot append to an agent\'s session', async () => {
    const session = `owned-by-a-${Date.now()}`;
    expect(await chat(patA, session, 'turn of A')).toBe(200);
    await new Promise((r) => setTimeout(r, 1000)); // the session row exists (write-behind flushed)
    const intruder = await chat(patB, session, 'turn of B');
    await new Promise((r) => setTimeout(r, 1000));
    const shown = JSON.parse((await gw.cli(['sessions', 'show', session, '--json'])).stdout) as {
      session: { agent: string };
      checkpoints: { agent: string }[];
    };
    expect(shown.session.agent).toBe('owner-a');
    // Either B was refused, or its turn went somewhere else: never into A's session.
    if (intruder === 200) expect(shown.checkpoints.map((c) => c.agent)).toEqual(['owner-a']);
    else expect(intruder).toBeGreaterThanOrEqual(400);
    expect(shown.checkpoints.map((c) => c.agent)).toEqual(['owner-a']);
  });
});

describe('admin access: IBEX_ADMIN_TOKEN', () => {
  const configured = 'configured-admin-token-0123456789';
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { IBEX_ADMIN_TOKEN: configured } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('the configured token is the only admin token; no token file is generated', async () => {
    const { res, close } = await adminGet(gw.url, `Bearer ${configured}`);
    expect(res.statusCode).toBe(200);
    close();
    await expectAdminDenied(gw.url, `Bearer ${configured.slice(0, -1)}X`);
    expect(() => readFileSync(join(gw.home, 'admin-token'))).toThrow(/ENOENT/);
    expect(gw.output()).not.toContain(configured);
  });
});

describe('admin access: the comparison', () => {
  const digest = createHash('sha256').update('the-admin-token').digest();

  it('compares SHA-256 digests, so tokens of any length are compared without throwing', () => {
    // timingSafeEqual throws on buffers of different lengths; hashing both sides first makes every
    // comparison 32 bytes against 32 bytes, whatever the caller sent.
    for (const header of ['Bearer x', `Bearer ${'y'.repeat(100_000)}`, 'Bearer the-admin-toke', 'Bearer the-admin-tokenn', 'Bearer \u00e9\u{1F511}']) {
      expect(() => bearerMatches(header, digest)).not.toThrow();
      expect(bearerMatches(header, digest)).toBe(false);
    }
    expect(bearerMatches('Bearer the-admin-token', digest)).toBe(true);
    expect(bearerMatches(undefined, digest)).toBe(false);
    expect(bearerMatches('', digest)).toBe(false);
    expect(bearerMatches('the-admin-token', digest)).toBe(false);
  });
});
