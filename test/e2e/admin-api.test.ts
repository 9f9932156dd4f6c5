// Issue 16, items 1 and 2: the admin API (/admin/v1) through a built gateway, and `ibex … --url`, the
// CLI managing that gateway through it from a machine with no store access (its own empty IBEX_HOME).
// Every JSON answer the tests receive is checked, at the end, against the response schema the
// gateway's own /admin/v1/openapi.json gives for that route and status.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { execa } from 'execa';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const READ_TOKEN = 'ibex_read_0123456789abcdefghij';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** Every JSON answer received: checked against the OpenAPI document in the last test. */
const answers: { method: string; path: string; status: number; json: unknown }[] = [];

describe('admin API and ibex --url', () => {
  let gw: TestGateway;
  let adminToken: string;
  let cliHome: string;

  async function api(method: string, path: string, opts: { token?: string | null; body?: unknown } = {}): Promise<Answer> {
    const token = opts.token === undefined ? adminToken : opts.token;
    const res = await request(`${gw.url}${path}`, {
      method: method as 'GET',
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.body.text();
    const json = text ? JSON.parse(text) : null;
    answers.push({ method, path: path.split('?')[0]!, status: res.statusCode, json });
    return { status: res.statusCode, headers: res.headers, json, text };
  }

  async function chat(token: string, content: string, headers: Record<string, string> = {}) {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
    });
    await res.body.text();
    return { status: res.statusCode, requestId: String(res.headers['x-request-id']), session: String(res.headers['x-ibex-session']) };
  }

  /** `ibex …` with the CLI's own IBEX_HOME: it can reach the gateway only through --url. */
  async function cli(args: string[], env: Record<string, string> = {}) {
    const r = await execa('node', [BIN, ...args, '--url', gw.url], {
      env: { IBEX_HOME: cliHome, IBEX_ADMIN_TOKEN: adminToken, ...env },
      extendEnv: true,
      reject: false,
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 0 };
  }

  async function walk(path: string, limit: number): Promise<{ items: any[]; pages: number }> {
    const items: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const r = await api('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.data.length).toBeLessThanOrEqual(limit);
      items.push(...r.json.data);
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor !== null && pages < 100);
    return { items, pages };
  }

  beforeAll(async () => {
    gw = await startTestGateway({ env: { IBEX_ADMIN_READ_TOKEN: READ_TOKEN } });
    adminToken = readFileSync(join(gw.home, 'admin-token'), 'utf8').trim();
    cliHome = mkdtempSync(join(tmpdir(), 'ibex-remote-cli-'));
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    if (cliHome) rmSync(cliHome, { recursive: true, force: true });
  });

  describe('tokens', () => {
    it('no token or a wrong one: 401 invalid_admin_token with WWW-Authenticate on every route', async () => {
      for (const [method, path] of [
        ['GET', '/admin/v1/agents'],
        ['POST', '/admin/v1/pats'],
        ['GET', '/admin/v1/openapi.json'],
        ['GET', '/admin/v1/traces'],
      ] as const) {
        for (const token of [null, 'wrong', `${adminToken}x`]) {
          const r = await api(method, path, { token, body: method === 'POST' ? { agents: ['x'] } : undefined });
          expect(r.status, `${method} ${path} ${token}`).toBe(401);
          expect(r.json.error.code).toBe('invalid_admin_token');
          expect(r.headers['www-authenticate']).toBe('Bearer');
        }
      }
    });

    it('the read-only token reads, and gets 403 admin_read_only for every write', async () => {
      expect((await api('GET', '/admin/v1/agents', { token: READ_TOKEN })).status).toBe(200);
      expect((await api('GET', '/admin/v1/openapi.json', { token: READ_TOKEN })).status).toBe(200);
      for (const [method, path, body] of [
        ['POST', '/admin/v1/agents', { name: 'ro-try' }],
        ['PATCH', '/admin/v1/agents/ro-try', { disabled: true }],
        ['POST', '/admin/v1/pats', { agents: ['ro-try'] }],
        ['POST', '/admin/v1/pats/pat_x/revoke', {}],
        ['POST', '/admin/v1/directives/ro-try', { text: 'x' }],
        ['POST', '/admin/v1/directives/ro-try/rollback', { to: 1 }],
      ] as const) {
        const r = await api(method, path, { token: READ_TOKEN, body });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.json.error).toMatchObject({ code: 'admin_read_only', type: 'permission_error' });
      }
      // Nothing was written.
      expect((await api('GET', '/admin/v1/agents/ro-try')).status).toBe(404);
    });
  });

  describe('agents', () => {
    it('create (201), conflict (409), read, list with the directive version, disable/enable, errors', async () => {
      const created = await api('POST', '/admin/v1/agents', { body: { name: 'api-a', rpm: 600, description: 'first' } });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ name: 'api-a', rpm: 600, description: 'first', disabled: false, directiveVersion: null });
      expect(Date.parse(created.json.createdAt)).toBeGreaterThan(Date.now() - 60_000);

      const again = await api('POST', '/admin/v1/agents', { body: { name: 'api-a' } });
      expect(again.status).toBe(409);
      expect(again.json.error.code).toBe('conflict');

      const bad = await api('POST', '/admin/v1/agents', { body: { name: 'has space' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatchObject({ code: 'invalid_request', param: 'name' });
      const extra = await api('POST', '/admin/v1/agents', { body: { name: 'api-x', colour: 'red' } });
      expect(extra.status).toBe(400);
      expect(extra.json.error.param).toBe('colour');
      expect((await api('GET', '/admin/v1/agents/api-x')).status).toBe(404);

      expect((await api('POST', '/admin/v1/directives/api-a', { body: { text: 'be brief' } })).status).toBe(201);
      const one = await api('GET', '/admin/v1/agents/api-a');
      expect(one.json).toMatchObject({ name: 'api-a', directiveVersion: 1 });
      const list = await api('GET', '/admin/v1/agents');
      expect(list.json.next_cursor).toBeNull();
      expect(list.json.data.find((a: any) => a.name === 'api-a')).toMatchObject({ directiveVersion: 1, disabled: false });

      const missing = await api('GET', '/admin/v1/agents/nobody');
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('not_found');

      const off = await api('PATCH', '/admin/v1/agents/api-a', { body: { disabled: true } });
      expect(off.json.disabled).toBe(true);
      const on = await api('PATCH', '/admin/v1/agents/api-a', { body: { disabled: false } });
      expect(on.json.disabled).toBe(false);
      expect((await api('PATCH', '/admin/v1/agents/nobody', { body: { disabled: true } })).status).toBe(404);
      expect((await api('PATCH', '/admin/v1/agents/api-a', { body: {} })).status).toBe(400);
    });

    it('pages through agents with the cursor', async () => {
      for (let i = 0; i < 7; i++) expect((await api('POST', '/admin/v1/agents', { body: { name: `page-agent-${i}` } })).status).toBe(201);
      const all = (await api('GET', '/admin/v1/agents?limit=500')).json.data.map((a: any) => a.name);
      const { items, pages } = await walk('/admin/v1/agents', 3);
      expect(items.map((a) => a.name)).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 3));
    });
  });

  describe('PATs', () => {
    it('create shows the token once; list and read never do; the token works until revoked via the API (refused within 5 s)', async () => {
      expect((await api('POST', '/admin/v1/agents', { body: { name: 'pat-agent' } })).status).toBe(201);
      const created = await api('POST', '/admin/v1/pats', { body: { agents: ['pat-agent'], name: 'ci', expires: '30d', rpm: 1000 } });
      expect(created.status).toBe(201);
      expect(created.headers['cache-control']).toBe('no-store');
      const { token, id, prefix } = created.json;
      expect(token).toMatch(/^ibex_pat_/);
      expect(token.startsWith(prefix)).toBe(true);
      expect(created.json).toMatchObject({ agents: ['pat-agent'], name: 'ci', rpm: 1000, revokedAt: null });
      expect(Math.abs(Date.parse(created.json.expiresAt) - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);

      const list = await api('GET', '/admin/v1/pats?agent=pat-agent');
      expect(list.json.data).toHaveLength(1);
      expect(list.json.data[0]).toMatchObject({ id, prefix, name: 'ci', agents: ['pat-agent'] });
      expect(list.text).not.toContain(token);
      expect(list.text).not.toMatch(/"(hash|token)"/);
      const byPrefix = await api('GET', `/admin/v1/pats/${prefix}`);
      expect(byPrefix.json.id).toBe(id);
      expect(byPrefix.text).not.toContain(token);

      expect((await chat(token, 'hello')).status).toBe(200);
      const revoked = await api('POST', `/admin/v1/pats/${prefix}/revoke`);
      expect(revoked.status).toBe(200);
      expect(revoked.json).toMatchObject({ id, alreadyRevoked: false });
      expect(Date.parse(revoked.json.revokedAt)).toBeGreaterThan(0);
      const deadline = Date.now() + 5_000;
      let status = 200;
      while (Date.now() < deadline && (status = (await chat(token, 'still?')).status) === 200) await new Promise((r) => setTimeout(r, 100));
      expect(status).toBe(401);
      const twice = await api('POST', `/admin/v1/pats/${id}/revoke`);
      expect(twice.json).toMatchObject({ id, alreadyRevoked: true, revokedAt: revoked.json.revokedAt });
    });

    it('errors: unknown agent 404, bad duration 400, ambiguous prefix 409, unknown PAT 404, unknown agent filter 404', async () => {
      const unknown = await api('POST', '/admin/v1/pats', { body: { agents: ['pat-agent', 'nobody'] } });
      expect(unknown.status).toBe(404);
      expect(unknown.json.error).toMatchObject({ code: 'not_found', param: 'agents' });
      expect((await api('POST', '/admin/v1/pats', { body: { agents: ['pat-agent'], expires: 'forever' } })).status).toBe(400);
      expect((await api('POST', '/admin/v1/pats', { body: { agents: [] } })).status).toBe(400);
      expect((await api('POST', '/admin/v1/pats', { body: { agents: ['pat-agent'], expiresAt: '2001-01-01T00:00:00Z' } })).status).toBe(400);
      expect((await api('POST', '/admin/v1/pats', { body: { agents: ['pat-agent'] } })).status).toBe(201);
      const ambiguous = await api('GET', '/admin/v1/pats/ibex_pat_');
      expect(ambiguous.status).toBe(409);
      expect(ambiguous.json.error.code).toBe('conflict');
      expect((await api('POST', '/admin/v1/pats/pat_nothing/revoke')).status).toBe(404);
      expect((await api('GET', '/admin/v1/pats?agent=nobody')).status).toBe(404);
    });
  });

  describe('directives', () => {
    it('set, if-version conflict, history, one version, rollback, diff', async () => {
      expect((await api('POST', '/admin/v1/agents', { body: { name: 'dir-agent' } })).status).toBe(201);
      const v1 = await api('POST', '/admin/v1/directives/dir-agent', { body: { text: 'line one\nline two\n', ifVersion: 0 } });
      expect(v1.status).toBe(201);
      expect(v1.json).toMatchObject({ agent: 'dir-agent', version: 1 });
      const v2 = await api('POST', '/admin/v1/directives/dir-agent', { body: { text: 'line one\nline 2\n', ifVersion: 1 } });
      expect(v2.json.version).toBe(2);
      const stale = await api('POST', '/admin/v1/directives/dir-agent', { body: { text: 'lost update', ifVersion: 1 } });
      expect(stale.status).toBe(409);
      expect(stale.json.error).toMatchObject({ code: 'conflict', param: 'ifVersion' });
      expect((await api('POST', '/admin/v1/directives/dir-agent', { body: { text: '   ' } })).status).toBe(400);
      expect((await api('POST', '/admin/v1/directives/nobody', { body: { text: 'x' } })).status).toBe(404);

      const history = await api('GET', '/admin/v1/directives/dir-agent');
      expect(history.json.current).toBe(2);
      expect(history.json.data.map((d: any) => d.version)).toEqual([2, 1]);
      expect((await api('GET', '/admin/v1/directives/dir-agent/versions/1')).json.text).toBe('line one\nline two\n');
      expect((await api('GET', '/admin/v1/directives/dir-agent/versions/9')).status).toBe(404);
      expect((await api('GET', '/admin/v1/directives/nobody')).status).toBe(404);

      const back = await api('POST', '/admin/v1/directives/dir-agent/rollback', { body: { to: 1 } });
      expect(back.status).toBe(201);
      expect(back.json).toMatchObject({ version: 3, text: 'line one\nline two\n' });
      expect((await api('POST', '/admin/v1/directives/dir-agent/rollback', { body: { to: 7 } })).status).toBe(404);

      const diff = await api('GET', '/admin/v1/directives/dir-agent/diff');
      expect(diff.json).toMatchObject({ agent: 'dir-agent', from: 2, to: 3 });
      expect(diff.json.diff).toBe('--- dir-agent v2\n+++ dir-agent v3\n@@ -1,2 +1,2 @@\n line one\n-line 2\n+line two\n');
      expect((await api('GET', '/admin/v1/directives/dir-agent/diff?from=1&to=3')).json.diff).toBe('');
      expect((await api('GET', '/admin/v1/directives/dir-agent/diff?from=8')).status).toBe(404);
    });
  });

  describe('sessions, traces and the overview', () => {
    const sessions: string[] = [];
    const requests: string[] = [];
    let token: string;

    beforeAll(async () => {
      expect((await api('POST', '/admin/v1/agents', { body: { name: 'traffic' } })).status).toBe(201);
      expect((await api('POST', '/admin/v1/directives/traffic', { body: { text: 'directive first' } })).status).toBe(201);
      token = (await api('POST', '/admin/v1/pats', { body: { agents: ['traffic'] } })).json.token;
      // 120 requests, each a new session: 120 traces and 120 sessions to page through.
      for (let batch = 0; batch < 15; batch++) {
        const done = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(token, `turn ${batch * 8 + i}`)));
        for (const d of done) {
          expect(d.status).toBe(200);
          sessions.push(d.session);
          requests.push(d.requestId);
        }
      }
      // Traces and checkpoints are written behind the requests.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const t = await api('GET', '/admin/v1/traces?agent=traffic&limit=500');
        const s = await api('GET', '/admin/v1/sessions?agent=traffic&limit=500');
        if ((t.json.data.length >= 120 && s.json.data.filter((x: any) => x.turns > 0).length >= 120) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 120_000);

    it('walks 120 traces with the cursor: every request once, most recent first, no gaps', async () => {
      const { items, pages } = await walk('/admin/v1/traces?agent=traffic', 7);
      expect(pages).toBe(Math.ceil(120 / 7));
      expect(items.map((t) => t.requestId).sort()).toEqual([...requests].sort());
      expect(new Set(items.map((t) => t.requestId)).size).toBe(120);
      for (let i = 1; i < items.length; i++) expect(Date.parse(items[i - 1].startedAt)).toBeGreaterThanOrEqual(Date.parse(items[i].startedAt));
    });

    it('walks 120 sessions with the cursor: each once; one session with its checkpoints', async () => {
      const { items } = await walk('/admin/v1/sessions?agent=traffic', 9);
      expect(items.map((s) => s.id).sort()).toEqual([...sessions].sort());
      const one = await api('GET', `/admin/v1/sessions/${sessions[0]}`);
      expect(one.json).toMatchObject({ id: sessions[0], agent: 'traffic', turns: 1 });
      expect(one.json.checkpoints).toHaveLength(1);
      expect(one.json.checkpoints[0]).toMatchObject({ seq: 1, status: 'ok', requestId: requests[0], directiveVersion: 1 });
      expect(one.json.checkpoints[0].messages[0]).toMatchObject({ role: 'system', content: 'directive first' });
      expect((await api('GET', '/admin/v1/sessions/nope')).status).toBe(404);
      expect((await api('GET', '/admin/v1/sessions?agent=nobody')).status).toBe(404);
    });

    it('a session is found by the Responses reply id one of its turns created (API and remote CLI)', async () => {
      // its own agent: the other tests count the traffic agent's requests
      expect((await api('POST', '/admin/v1/agents', { body: { name: 'finder' } })).status).toBe(201);
      const finder = (await api('POST', '/admin/v1/pats', { body: { agents: ['finder'] } })).json.token;
      const res = await request(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${finder}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', input: 'find me by my id' }),
      });
      const { id } = (await res.body.json()) as { id: string };
      const session = String(res.headers['x-ibex-session']);
      let found = await api('GET', `/admin/v1/sessions/${id}`);
      for (const deadline = Date.now() + 10_000; found.status === 404 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100)); // the checkpoint is written behind the reply
        found = await api('GET', `/admin/v1/sessions/${id}`);
      }
      expect(found.json).toMatchObject({ id: session, agent: 'finder', turns: 1 });
      expect(found.json.checkpoints[0]).toMatchObject({ responseId: id, stateAt: { provider: expect.any(String) } });
      expect((await cli(['sessions', 'show', id])).stdout).toContain(`session ${session}`);
    });

    it('trace filters: request id, session, status; bad limits and cursors are 400', async () => {
      const byRequest = await api('GET', `/admin/v1/traces?requestId=${requests[5]}`);
      expect(byRequest.json.data.map((t: any) => t.requestId)).toEqual([requests[5]]);
      const bySession = await api('GET', `/admin/v1/traces?session=${sessions[7]}`);
      expect(bySession.json.data.map((t: any) => t.sessionId)).toEqual([sessions[7]]);
      expect((await api('GET', '/admin/v1/traces?agent=traffic&status=error')).json.data).toEqual([]);
      expect((await api('GET', '/admin/v1/traces?agent=traffic&status=ok&limit=500')).json.data).toHaveLength(120);
      expect((await api('GET', '/admin/v1/traces?agent=traffic&status=200&limit=2')).json.data).toHaveLength(2);
      for (const q of ['limit=0', 'limit=501', 'status=teapot', 'cursor=not-a-cursor']) {
        const r = await api('GET', `/admin/v1/traces?${q}`);
        expect(r.status, q).toBe(400);
        expect(r.json.error.code).toBe('invalid_request');
      }
      // A sessions cursor is not a traces cursor.
      const sessionsCursor = (await api('GET', '/admin/v1/sessions?agent=traffic&limit=1')).json.next_cursor;
      expect((await api('GET', `/admin/v1/traces?cursor=${sessionsCursor}`)).status).toBe(400);
    });

    it('overview: counts, percentiles, top agents and a series that adds up', async () => {
      const o = await api('GET', '/admin/v1/overview?window=10m');
      expect(o.status).toBe(200);
      expect(o.json.requests).toBeGreaterThanOrEqual(120);
      expect(o.json.topAgents[0]).toEqual({ agent: 'traffic', requests: 120 });
      expect(o.json.series.reduce((n: number, p: any) => n + p.requests, 0)).toBe(o.json.requests);
      expect(o.json.latency.p50).toBeGreaterThan(0);
      expect(o.json.latency.p99).toBeGreaterThanOrEqual(o.json.latency.p50);
      expect(o.json.costTodayUsd).toBeNull();
      expect((await api('GET', '/admin/v1/overview?window=2d')).status).toBe(400);
    });
  });

  describe('ibex … --url: the CLI through the admin API, without store access', () => {
    it('agent create/list/disable/enable', async () => {
      const created = await cli(['agent', 'create', 'remote-a', '--rpm', '30', '--json']);
      expect(created.exitCode, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ name: 'remote-a', rpm: 30, enabled: true });
      const dup = await cli(['agent', 'create', 'remote-a']);
      expect(dup.exitCode).toBe(1);
      expect(dup.stderr).toContain('already exists');
      const list = JSON.parse((await cli(['agent', 'list', '--json'])).stdout);
      expect(list.find((a: any) => a.name === 'remote-a')).toMatchObject({ rpm: 30, enabled: true });
      expect(JSON.parse((await cli(['agent', 'disable', 'remote-a', '--json'])).stdout).enabled).toBe(false);
      expect((await api('GET', '/admin/v1/agents/remote-a')).json.disabled).toBe(true);
      expect((await cli(['agent', 'enable', 'remote-a'])).exitCode).toBe(0);
      expect((await api('GET', '/admin/v1/agents/remote-a')).json.disabled).toBe(false);
    }, 60_000);

    it('pat create/list/revoke: the token works, then is refused', async () => {
      const created = await cli(['pat', 'create', '--agent', 'remote-a', '--name', 'remote', '--expires', '1h', '--json']);
      expect(created.exitCode, created.stderr).toBe(0);
      const pat = JSON.parse(created.stdout);
      expect(pat).toMatchObject({ agents: ['remote-a'], name: 'remote', status: 'active' });
      expect((await chat(pat.token, 'from a remote PAT', { 'x-ibex-agent': 'remote-a' })).status).toBe(200);
      const list = await cli(['pat', 'list', '--agent', 'remote-a', '--json']);
      expect(JSON.parse(list.stdout).map((p: any) => p.id)).toEqual([pat.id]);
      expect(list.stdout).not.toContain(pat.token);
      const unknown = await cli(['pat', 'list', '--agent', 'nobody']);
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toContain('no agent named "nobody"');
      const revoked = await cli(['pat', 'revoke', pat.prefix, '--json']);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ id: pat.id, status: 'revoked', alreadyRevoked: false });
      const deadline = Date.now() + 5_000;
      let status = 200;
      while (Date.now() < deadline && (status = (await chat(pat.token, 'still?')).status) === 200) await new Promise((r) => setTimeout(r, 100));
      expect(status).toBe(401);
      expect((await cli(['pat', 'revoke', pat.id])).stdout).toContain('already revoked');
    }, 60_000);

    it('directive set/get/history/rollback, and --if-version refuses a stale write', async () => {
      expect((await cli(['directive', 'set', 'remote-a', '--text', 'remote v1'])).exitCode).toBe(0);
      expect((await cli(['directive', 'set', 'remote-a', '--text', 'remote v2', '--if-version', '1'])).exitCode).toBe(0);
      const stale = await cli(['directive', 'set', 'remote-a', '--text', 'lost', '--if-version', '1']);
      expect(stale.exitCode).toBe(1);
      expect(stale.stderr).toMatch(/version 2/);
      // (execa strips the final newline)
      expect((await cli(['directive', 'get', 'remote-a'])).stdout).toBe('remote v2');
      expect((await cli(['directive', 'get', 'remote-a', '--version', '1'])).stdout).toBe('remote v1');
      const history = JSON.parse((await cli(['directive', 'history', 'remote-a', '--json'])).stdout);
      expect(history.map((d: any) => d.version)).toEqual([2, 1]);
      const back = JSON.parse((await cli(['directive', 'rollback', 'remote-a', '--to', '1', '--json'])).stdout);
      expect(back).toMatchObject({ version: 3, text: 'remote v1' });
      expect((await api('GET', '/admin/v1/directives/remote-a')).json.current).toBe(3);
    }, 60_000);

    it('sessions list/show and traces list', async () => {
      const sessions = JSON.parse((await cli(['sessions', 'list', '--agent', 'traffic', '--limit', '130', '--json'])).stdout);
      expect(sessions).toHaveLength(120);
      expect(typeof sessions[0].createdAt).toBe('string');
      const show = JSON.parse((await cli(['sessions', 'show', sessions[0].id, '--json'])).stdout);
      expect(show.session).toMatchObject({ id: sessions[0].id, agent: 'traffic', turns: 1 });
      expect(show.checkpoints).toHaveLength(1);
      expect(show.checkpoints[0].messages[0].content).toBe('directive first');
      expect((await cli(['sessions', 'show', 'nope'])).exitCode).toBe(1);
      const traces = JSON.parse((await cli(['traces', 'list', '--agent', 'traffic', '--limit', '120', '--json'])).stdout);
      expect(traces).toHaveLength(120);
      expect(typeof traces[0].startedAt).toBe('number');
      const table = await cli(['traces', 'list', '--session', sessions[0].id]);
      expect(table.stdout).toContain(sessions[0].id);
    }, 60_000);

    it('the token from --admin-token-file; a read-only or wrong token and a dead URL are user errors', async () => {
      const file = join(cliHome, 'token-file');
      writeFileSync(file, `${adminToken}\n`);
      const viaFile = await cli(['agent', 'list', '--json', '--admin-token-file', file], { IBEX_ADMIN_TOKEN: '' });
      expect(viaFile.exitCode, viaFile.stderr).toBe(0);
      writeFileSync(file, `${READ_TOKEN}\n`);
      expect((await cli(['agent', 'list', '--admin-token-file', file])).exitCode).toBe(0);
      const ro = await cli(['agent', 'create', 'ro-cli', '--admin-token-file', file]);
      expect(ro.exitCode).toBe(1);
      expect(ro.stderr).toContain('read-only');
      const wrong = await cli(['agent', 'list'], { IBEX_ADMIN_TOKEN: 'not-the-token' });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toContain('refused the admin token');
      const none = await cli(['agent', 'list'], { IBEX_ADMIN_TOKEN: '' });
      expect(none.exitCode).toBe(1);
      expect(none.stderr).toContain('IBEX_ADMIN_TOKEN');
    }, 60_000);

    it('agent update: limits, budgets, content mode and prompt cache, applied by the running gateway at once', async () => {
      const pat = (await api('POST', '/admin/v1/pats', { body: { agents: ['remote-a'] } })).json.token as string;
      // The gateway now holds remote-a (no rpm) in its agent cache.
      expect((await chat(pat, 'before the update', { 'x-ibex-agent': 'remote-a' })).status).toBe(200);
      const updated = await cli(['agent', 'update', 'remote-a', '--rpm', '1', '--tpm', '100000', '--budget-usd-day', '5', '--content', 'metadata', '--prompt-cache', 'on', '--json']);
      expect(updated.exitCode, updated.stderr).toBe(0);
      expect(JSON.parse(updated.stdout)).toMatchObject({ name: 'remote-a', rpm: 1, tpm: 100000, budgetUsdDay: 5, contentMode: 'metadata', promptCache: true });
      expect((await api('GET', '/admin/v1/agents/remote-a')).json).toMatchObject({ rpm: 1, tpm: 100000, budgetUsdDay: 5, contentMode: 'metadata' });
      expect((await api('GET', '/admin/v1/directives/remote-a')).json.deploy.promptCache).toBe(true);
      // rpm 1 holds at once: the PATCH went through the same ops as the CLI, which evict the cached agent.
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await chat(pat, `after ${i}`, { 'x-ibex-agent': 'remote-a' })).status);
      expect(statuses).toContain(429);
      const cleared = await cli(['agent', 'update', 'remote-a', '--rpm', 'off', '--budget-usd-day', 'off', '--json']);
      expect(JSON.parse(cleared.stdout)).toMatchObject({ rpm: null, budgetUsdDay: null, tpm: 100000 });
      const bad = await api('PATCH', '/admin/v1/agents/remote-a', { body: { budgetUsdDay: -1 } });
      expect(bad.status).toBe(400);
    }, 60_000);

    it('usage, directive stats and sessions export', async () => {
      const usage = JSON.parse((await cli(['usage', '--by', 'agent', '--since', '1h', '--json'])).stdout);
      expect(usage.by).toBe('agent');
      expect(usage.rows.find((r: any) => r.key === 'traffic')?.requests).toBeGreaterThanOrEqual(120);
      expect(usage.total.requests).toBeGreaterThanOrEqual(120);
      const table = await cli(['usage', '--by', 'model']);
      expect(table.exitCode, table.stderr).toBe(0);
      expect(table.stdout).toContain('gpt-test');

      const stats = await cli(['directive', 'stats', 'traffic', '--json']);
      expect(stats.exitCode, stats.stderr).toBe(0);
      const report = JSON.parse(stats.stdout);
      expect(report).toMatchObject({ agent: 'traffic', canary: null });
      expect(report.traces).toBeGreaterThanOrEqual(120);
      expect(report.versions[0]).toMatchObject({ version: 1, role: 'stable' });
      expect(report.versions[0].requests).toBeGreaterThanOrEqual(120);
      const unknown = await cli(['directive', 'stats', 'nobody']);
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toContain('no agent named "nobody"');

      // The export walks GET /checkpoints: every turn once, oldest first.
      const exported = await cli(['sessions', 'export', '--agent', 'traffic']);
      expect(exported.exitCode, exported.stderr).toBe(0);
      const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThanOrEqual(120);
      expect(new Set(lines.map((l: any) => l.requestId)).size).toBe(lines.length);
      const created = lines.map((l: any) => l.createdAt as number);
      expect(created.every((t) => Number.isFinite(t))).toBe(true);
      expect([...created].sort((a, b) => a - b)).toEqual(created);
      const { items, pages } = await walk('/admin/v1/checkpoints?agent=traffic', 50);
      expect(items.map((c) => c.requestId)).toEqual(lines.map((l: any) => l.requestId));
      expect(pages).toBeGreaterThanOrEqual(3);
      const future = await api('GET', `/admin/v1/checkpoints?since=${new Date(Date.now() + 60_000).toISOString()}`);
      expect(future.json).toEqual({ data: [], next_cursor: null });
      expect((await api('GET', '/admin/v1/checkpoints?cursor=nonsense')).status).toBe(400);
    }, 60_000);

    it('prune: counted on the gateway with --dry-run; the read-only token may not prune', async () => {
      const dry = await cli(['prune', '--dry-run', '--json']);
      expect(dry.exitCode, dry.stderr).toBe(0);
      const report = JSON.parse(dry.stdout);
      expect(report.dryRun).toBe(true);
      expect(typeof report.traces).toBe('string');
      expect(typeof report.counts).toBe('object');
      expect((await api('POST', '/admin/v1/prune', { token: READ_TOKEN, body: { dryRun: true } })).status).toBe(403);
      const table = await cli(['prune', '--dry-run']);
      expect(table.stdout).toContain('would delete');
      // A dry run deleted nothing.
      expect((await api('GET', '/admin/v1/sessions?agent=traffic&limit=500')).json.data.length).toBe(120);
    }, 60_000);

    it('never opened a store of its own', () => {
      expect(existsSync(join(cliHome, 'ibex.db'))).toBe(false);
    });
  });

  describe('the OpenAPI document', () => {
    let doc: any;
    beforeAll(async () => {
      doc = (await api('GET', '/admin/v1/openapi.json')).json;
    });

    it('is OpenAPI 3.1.0 with every admin route and its schemas', () => {
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.components.securitySchemes.adminToken).toEqual({ type: 'http', scheme: 'bearer' });
      const expected: Record<string, string[]> = {
        '/admin/v1/agents': ['get', 'post'],
        '/admin/v1/agents/{name}': ['get', 'patch'],
        '/admin/v1/pats': ['get', 'post'],
        '/admin/v1/pats/{idOrPrefix}': ['get'],
        '/admin/v1/pats/{idOrPrefix}/revoke': ['post'],
        '/admin/v1/directives/{agent}': ['get', 'post'],
        '/admin/v1/directives/{agent}/versions/{version}': ['get'],
        '/admin/v1/directives/{agent}/rollback': ['post'],
        '/admin/v1/directives/{agent}/diff': ['get'],
        '/admin/v1/sessions': ['get'],
        '/admin/v1/sessions/{id}': ['get'],
        '/admin/v1/traces': ['get'],
        '/admin/v1/overview': ['get'],
        '/admin/v1/checkpoints': ['get'],
        '/admin/v1/prune': ['post'],
        '/admin/v1/events': ['get'],
      };
      for (const [path, methods] of Object.entries(expected)) {
        expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(methods.sort());
      }
      // Every route in the document: a success schema, the 401, its path parameters; writes a body and the 403.
      for (const [path, ops] of Object.entries<any>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(ops)) {
          const where = `${method.toUpperCase()} ${path}`;
          const success = op.responses['200'] ?? op.responses['201'];
          expect(success?.content, where).toBeDefined();
          expect(Object.values<any>(success.content)[0].schema, where).toBeDefined();
          expect(op.responses['401']?.content['application/json'].schema, where).toBeDefined();
          const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
          expect((op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort(), where).toEqual(pathParams.sort());
          if (method !== 'get') {
            expect(op.responses['403'], where).toBeDefined();
            if (!path.endsWith('/revoke')) expect(op.requestBody?.content['application/json'].schema, where).toBeDefined();
          }
        }
      }
      expect(doc.paths['/admin/v1/traces'].get.parameters.map((p: any) => p.name).sort()).toEqual(['agent', 'cursor', 'limit', 'requestId', 'session', 'status']);
    });

    it('every JSON answer of this file matches the response schema of its route and status', () => {
      const Ajv2020 = ((Ajv2020Module as any).default ?? Ajv2020Module) as any;
      const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as any;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      const routes = Object.entries<any>(doc.paths).map(([path, ops]) => ({
        re: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`),
        path,
        ops,
      }));
      let checked = 0;
      for (const a of answers) {
        if (a.json === null || a.path === '/admin/v1/openapi.json') continue;
        const candidates = routes.filter((r) => r.re.test(a.path) && r.ops[a.method.toLowerCase()]);
        // The most specific template (fewest parameters) wins: /pats/{idOrPrefix}/revoke over /pats/{idOrPrefix}.
        const route = candidates.sort((x, y) => (x.path.match(/\{/g)?.length ?? 0) - (y.path.match(/\{/g)?.length ?? 0))[0];
        expect(route, `${a.method} ${a.path}`).toBeDefined();
        const response = route!.ops[a.method.toLowerCase()].responses[String(a.status)];
        expect(response, `${a.method} ${a.path} ${a.status}: status not documented`).toBeDefined();
        const schema = response.content['application/json'].schema;
        const valid = ajv.validate(schema, a.json);
        expect(valid, `${a.method} ${a.path} ${a.status}: ${ajv.errorsText(ajv.errors)}\n${JSON.stringify(a.json).slice(0, 500)}`).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(100);
    });
  });
});
