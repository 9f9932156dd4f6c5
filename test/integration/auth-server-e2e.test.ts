// `ibex auth-server` + `ibex serve` with IBEX_AUTH_URL + the CLI, each its own process (the built
// CLI, as `npm test` builds first): a PAT the CLI just created works on its first request through
// the gateway, its revocation lands well within 5 s with no shared bus, and while the auth server
// is down a cached token is still served and an uncached one gets 503.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const built = existsSync(join(ROOT, 'dist/commands/auth-server.js')) && existsSync(join(ROOT, 'dist/src/cli.js'));
const suite = built || process.env.CI === 'true' ? describe : describe.skip;
if (!built) console.warn('[tests] auth-server e2e needs the built CLI (npx tsc -p tsconfig.json)');

async function startAuthServerProcess(home: string): Promise<{ url: string; proc: ResultPromise; output: () => string }> {
  let out = '';
  const proc = execa('node', [BIN, 'auth-server', '--port', '0'], { env: { IBEX_HOME: home }, extendEnv: true, reject: false, all: true, buffer: false });
  proc.all?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`auth-server did not start in 20 s:\n${out}`)), 20_000);
    proc.all?.on('data', () => {
      const m = /auth-server listening on (grpc:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void proc.then(() => reject(new Error(`auth-server exited early:\n${out}`)));
  });
  return { url, proc, output: () => out };
}

suite('ibex auth-server end to end', () => {
  let home: string;
  let authServer: Awaited<ReturnType<typeof startAuthServerProcess>>;
  let gateway: TestGateway;
  const cli = (args: string[]) => execa('node', [BIN, ...args], { env: { IBEX_HOME: home }, extendEnv: true });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'ibex-auth-e2e-'));
    await cli(['migrate']);
    await cli(['agent', 'create', 'bot']);
    authServer = await startAuthServerProcess(home);
    // IBEX_POLL_INTERVAL_MS deliberately high: only the auth server's stream may revoke in time.
    gateway = await startTestGateway({ home, env: { IBEX_AUTH_URL: authServer.url, IBEX_POLL_INTERVAL_MS: '60000' } });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    if (authServer?.proc.exitCode === null) authServer.proc.kill('SIGTERM');
    await authServer?.proc;
    rmSync(home, { recursive: true, force: true });
  });

  const chat = (token: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('logs that auth goes through the auth server', () => {
    expect(gateway.output()).toContain(`auth: ${authServer.url}`);
  });

  it('a PAT the CLI just created works on its first request; its revocation lands within 5 s (by the stream)', async () => {
    const created = JSON.parse((await cli(['pat', 'create', '--agent', 'bot', '--json'])).stdout) as { id: string; token: string };
    const first = await chat(created.token);
    expect(first.status).toBe(200);
    await cli(['pat', 'revoke', created.id]);
    const t0 = performance.now();
    let status = 200;
    while (status !== 401 && performance.now() - t0 < 5000) {
      status = (await chat(created.token)).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    // server-side poll ≤ 250 ms + stream; the gateway's own poll is 60 s here
    expect(performance.now() - t0).toBeLessThan(1500);
  }, 20_000);

  it('auth server down: a cached token is still served, an uncached one gets 503', async () => {
    const cached = JSON.parse((await cli(['pat', 'create', '--agent', 'bot', '--json'])).stdout) as { token: string };
    const uncached = JSON.parse((await cli(['pat', 'create', '--agent', 'bot', '--json'])).stdout) as { token: string };
    expect((await chat(cached.token)).status).toBe(200);
    authServer.proc.kill('SIGTERM');
    await authServer.proc;
    expect((await chat(cached.token)).status).toBe(200);
    const res = await chat(uncached.token);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
  }, 20_000);
});
