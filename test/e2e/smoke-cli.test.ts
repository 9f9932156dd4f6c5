// `ibex smoke` end to end with the built CLI: green against its own gateway and against a running one
// (--url, stores shared through IBEX_HOME; --url --token, HTTP only), red — exit 1 naming the failing
// step — when the gateway's upstream is down.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { startTestGateway, provision, type TestGateway } from '../helpers/gateway.js';

const ROOT = join(import.meta.dirname, '../..');
/** The CLI under test; IBEX_TEST_CLI lets a wrapper stand in for bin/ibex.js. */
const CLI = process.env.IBEX_TEST_CLI ?? join(ROOT, 'bin/ibex.js');

function smoke(args: string[], env: Record<string, string> = {}) {
  return execa('node', [CLI, 'smoke', ...args], { reject: false, timeout: 60_000, env });
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('ibex smoke', () => {
  it('passes every step against its own gateway with the mock', async () => {
    const r = await smoke([]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const step of [
      'start gateway',
      'create agent, directive and PAT',
      'non-streaming request',
      'directive arrived first upstream',
      'streaming request',
      'trace queryable within 500 ms',
      'session checkpoint stored',
      'revoked PAT refused within 5 s',
      'cleanup',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^✓ ${step.replace(/[()]/g, '\\$&')}.* \\(\\d+ ms\\)`, 'm'));
    }
    expect(r.stdout).not.toContain('✗');
    expect(r.stdout).toMatch(/smoke passed: 11 steps in [\d.]+ s/);
    expect(r.stdout + r.stderr).not.toMatch(/ibex_pat_[0-9A-Za-z]{8}/);
  }, 90_000);

  describe('against a running gateway', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway({ mock: { chunks: 4 } });
    }, 60_000);
    afterAll(() => gw?.stop());

    it('--url: creates its agent in the configured stores, checks, then revokes and disables', async () => {
      const r = await smoke(['--url', gw.url], gw.env);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^✓ revoked PAT refused within 5 s/m);
      expect(r.stdout).toMatch(/^✓ cleanup .*PAT revoked, agent disabled/m);
      const agents = JSON.parse((await gw.cli(['agent', 'list', '--json'])).stdout) as { name: string; enabled: boolean }[];
      const smokeAgents = agents.filter((a) => a.name.startsWith('smoke-'));
      expect(smokeAgents).toHaveLength(1);
      expect(smokeAgents[0]!.enabled).toBe(false);
    }, 90_000);

    it('--url --token: runs the HTTP steps only and skips those that need the stores', async () => {
      const { token } = await provision(gw, 'smoke-token', { directive: 'Token-mode directive.' });
      const r = await smoke(['--url', `${gw.url}/v1`, '--token', token], gw.env);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^✓ non-streaming request/m);
      expect(r.stdout).toMatch(/^✓ directive arrived first upstream \(stream\)/m);
      expect(r.stdout).toMatch(/^- create agent, directive and PAT: skipped/m);
      expect(r.stdout).toMatch(/^- revoked PAT refused within 5 s: skipped/m);
      expect(r.stdout).toMatch(/smoke passed: \d+ steps, 4 skipped/);
      // the caller's PAT still works: smoke never revokes what it did not create
      const again = await smoke(['--url', gw.url, '--token', token], gw.env);
      expect(again.exitCode).toBe(0);
    }, 90_000);
  });

  it('fails with exit 1 naming the step when the gateway\'s upstream is down', async () => {
    const port = await closedPort();
    const gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: `http://127.0.0.1:${port}/v1` } });
    try {
      const r = await smoke(['--url', gw.url], gw.env);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/^✓ create agent, directive and PAT/m);
      expect(r.stdout).toMatch(/^✗ non-streaming request: 502 upstream_error/m);
      expect(r.stdout).not.toMatch(/^✓ streaming request/m);
      // cleanup still ran
      expect(r.stdout).toMatch(/^✓ cleanup/m);
      expect(r.stderr).toContain('smoke failed at step "non-streaming request"');
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('rejects --token without --url (exit 2)', async () => {
    const r = await smoke(['--token', 'ibex_pat_x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--token needs --url');
  }, 30_000);
});
