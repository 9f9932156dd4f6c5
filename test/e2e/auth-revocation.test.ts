// Auth at the process level: the CLI (another process) revokes, disables and creates while `ibex serve`
// runs, in-process and with a separate `ibex auth-server`; rate limits with the OpenAI headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
const call = (gw: TestGateway, token: string, headers: Record<string, string> = {}) =>
  request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  }).then(async (r) => {
    const text = await r.body.text();
    return { status: r.statusCode, headers: r.headers, json: JSON.parse(text) as { error?: { code: string } } };
  });

/** Polls until the token is rejected; returns ms from `since`. */
async function msUntilRejected(gw: TestGateway, token: string, since: number, limitMs: number): Promise<number> {
  for (;;) {
    const r = await call(gw, token);
    if (r.status === 401 || r.status === 403) return Date.now() - since;
    if (Date.now() - since > limitMs) throw new Error(`still accepted after ${limitMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

function authScenarios(name: string, start: () => Promise<{ gw: TestGateway; stop(): Promise<void> }>) {
  describe(name, () => {
    let gw: TestGateway;
    let stop: () => Promise<void>;
    beforeAll(async () => {
      ({ gw, stop } = await start());
    });
    afterAll(async () => stop?.());

    it('a PAT created by the CLI a moment ago works on its first request', async () => {
      const { token } = await provision(gw, `fresh-${name.length}`);
      expect((await call(gw, token)).status).toBe(200);
    });

    it('a PAT revoked by the CLI is rejected within 5 s (typically ~1 poll interval)', async () => {
      const { token, id } = await provision(gw, `rev-${name.length}`);
      expect((await call(gw, token)).status).toBe(200); // cached now
      const t0 = Date.now();
      await gw.cli(['pat', 'revoke', id]);
      const ms = await msUntilRejected(gw, token, t0, 5000);
      expect(ms).toBeLessThan(5000);
      const again = await call(gw, token);
      expect(again.status).toBe(401);
      expect(again.json.error?.code).toBe('invalid_api_key');
      console.log(`[${name}] revocation visible after ${ms} ms (CLI process start included)`);
    });

    it('a disabled agent is rejected within 5 s; enabling restores it', async () => {
      const agent = `dis-${name.length}`;
      const { token } = await provision(gw, agent);
      expect((await call(gw, token)).status).toBe(200);
      const t0 = Date.now();
      await gw.cli(['agent', 'disable', agent]);
      await msUntilRejected(gw, token, t0, 5000);
      const r = await call(gw, token);
      expect(r.status).toBe(403);
      expect(r.json.error?.code).toBe('agent_forbidden');
      await gw.cli(['agent', 'enable', agent]);
      const t1 = Date.now();
      for (;;) {
        if ((await call(gw, token)).status === 200) break;
        if (Date.now() - t1 > 5000) throw new Error('not re-enabled within 5 s');
        await new Promise((res) => setTimeout(res, 50));
      }
    });

    it('an expired PAT is rejected, also when it was cached', async () => {
      const { token } = await provision(gw, `exp-${name.length}`, { patArgs: ['--expires', '2s'] });
      expect((await call(gw, token)).status).toBe(200);
      await new Promise((res) => setTimeout(res, 2200));
      expect((await call(gw, token)).status).toBe(401);
    });
  });
}

authScenarios('in-process auth', async () => {
  const gw = await startTestGateway();
  return { gw, stop: async () => void (await gw.stop()) };
});

authScenarios('gRPC auth server', async () => {
  const home = mkdtempSync(join(tmpdir(), 'ibex-grpc-'));
  const auth = execa('node', [BIN, 'auth-server', '--port', '0'], { env: { IBEX_HOME: home, IBEX_POLL_INTERVAL_MS: '200' }, reject: false, all: true, buffer: false });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`auth-server did not start:\n${out}`)), 20_000);
    auth.all?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (grpc:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  const gw = await startTestGateway({ home, env: { IBEX_AUTH_URL: url } });
  expect(gw.output()).toContain(`auth: ${url}`);
  return {
    gw,
    stop: async () => {
      await gw.stop();
      auth.kill('SIGTERM');
      await auth;
    },
  };
});

describe('rate limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => void (await gw?.stop()));

  it('--rpm 5 on a PAT: headers count down, the 6th is 429 with retry-after', async () => {
    const { token } = await provision(gw, 'limited', { patArgs: ['--rpm', '5'] });
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(gw, token);
      expect(r.status).toBe(200);
      expect(r.headers['x-ratelimit-limit-requests']).toBe('5');
      expect(r.headers['x-ratelimit-reset-requests']).toMatch(/^\d+s$/);
      remaining.push(String(r.headers['x-ratelimit-remaining-requests']));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const sixth = await call(gw, token);
    expect(sixth.status).toBe(429);
    expect(sixth.json.error?.code).toBe('rate_limit_exceeded');
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(sixth.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('--rpm on an agent applies to all its PATs together', async () => {
    const { token: a } = await provision(gw, 'agent-limited', { agentArgs: ['--rpm', '3'] });
    const b = JSON.parse((await gw.cli(['pat', 'create', '--agent', 'agent-limited', '--json'])).stdout).token as string;
    const statuses = [];
    for (const t of [a, b, a, b]) statuses.push((await call(gw, t)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
