// The CLI against the built binary: lifecycles, --json shapes, exit codes (0 ok, 1 user error, 2 usage).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/gateway.js';

let home: string;
const run = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [BIN, ...args], { env: { IBEX_HOME: home, ...env }, reject: false });

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'ibex-cli-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ibex CLI', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.exitCode).toBe(0);
    for (const cmd of ['serve', 'mock-upstream', 'migrate', 'agent', 'pat', 'directive', 'sessions', 'tail', 'auth-server', 'config']) {
      expect(r.stdout).toContain(cmd);
    }
  });

  it('unknown command or option exits 2', async () => {
    expect((await run(['frobnicate'])).exitCode).toBe(2);
    expect((await run(['agent', 'list', '--bogus'])).exitCode).toBe(2);
    expect((await run(['agent', 'create', 'x', '--rpm', 'lots'])).exitCode).toBe(2);
    expect((await run(['agent', 'create', "bad name'; DROP TABLE agents;--"])).exitCode).toBe(2);
  });

  it('agent lifecycle with --json shapes', async () => {
    const created = await run(['agent', 'create', 'alpha', '--rpm', '60', '--description', 'first', '--json']);
    expect(created.exitCode).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'alpha', rpm: 60, enabled: true, description: 'first' });

    const dup = await run(['agent', 'create', 'alpha']);
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    expect(dup.stderr).toMatch(/hint:/);

    const list = JSON.parse((await run(['agent', 'list', '--json'])).stdout) as { name: string; enabled: boolean }[];
    expect(list.map((a) => a.name)).toContain('alpha');

    expect((await run(['agent', 'disable', 'alpha'])).exitCode).toBe(0);
    const after = JSON.parse((await run(['agent', 'list', '--json'])).stdout) as { name: string; enabled: boolean }[];
    expect(after.find((a) => a.name === 'alpha')!.enabled).toBe(false);
    expect((await run(['agent', 'enable', 'alpha'])).exitCode).toBe(0);
    expect((await run(['agent', 'disable', 'nope'])).exitCode).toBe(1);
  });

  it('pat lifecycle: token printed once, never listed, revoke by id or prefix', async () => {
    await run(['agent', 'create', 'beta']);
    const created = await run(['pat', 'create', '--agent', 'beta', '--name', 'ci', '--expires', '1h', '--rpm', '5', '--json']);
    expect(created.exitCode).toBe(0);
    const pat = JSON.parse(created.stdout) as { id: string; token: string; prefix: string; expiresAt: string; rpm: number; agents: string[] };
    expect(pat.token).toMatch(/^ibex_pat_[0-9A-Za-z]{36}$/);
    expect(pat.token.startsWith(pat.prefix)).toBe(true);
    expect(pat).toMatchObject({ rpm: 5, agents: ['beta'] });
    expect(Date.parse(pat.expiresAt) - Date.now()).toBeGreaterThan(59 * 60_000);

    const plain = await run(['pat', 'create', '--agent', 'beta']);
    expect(plain.stdout.trim()).toMatch(/^ibex_pat_/);

    const listed = await run(['pat', 'list', '--agent', 'beta', '--json']);
    expect(listed.stdout).not.toContain(pat.token);
    expect(listed.stdout).not.toMatch(/"hash"/);
    const rows = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(rows.find((r) => r.id === pat.id)!.status).toBe('active');

    const revoked = await run(['pat', 'revoke', pat.prefix, '--json']);
    expect(revoked.exitCode).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: pat.id, status: 'revoked' });
    expect((await run(['pat', 'revoke', 'pat_doesnotexist'])).exitCode).toBe(1);
  });

  it('pat create validates its flags', async () => {
    expect((await run(['pat', 'create', '--agent', 'beta', '--expires', 'soon'])).exitCode).toBe(2);
    expect((await run(['pat', 'create'])).exitCode).toBe(2);
    const unknown = await run(['pat', 'create', '--agent', 'ghost']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/ghost/);
  });

  it('directive set/get/history/rollback and --if-version', async () => {
    await run(['agent', 'create', 'gamma']);
    expect((await run(['directive', 'set', 'gamma', '--text', 'v one'])).exitCode).toBe(0);
    const file = join(home, 'd.txt');
    writeFileSync(file, 'v two from file');
    expect((await run(['directive', 'set', 'gamma', '--file', file, '--if-version', '1'])).exitCode).toBe(0);
    const conflict = await run(['directive', 'set', 'gamma', '--text', 'stale', '--if-version', '1']);
    expect(conflict.exitCode).toBe(1);
    expect((await run(['directive', 'get', 'gamma'])).stdout.trim()).toBe('v two from file');
    expect((await run(['directive', 'get', 'gamma', '--version', '1'])).stdout.trim()).toBe('v one');
    const rb = JSON.parse((await run(['directive', 'rollback', 'gamma', '--to', '1', '--json'])).stdout) as { version: number; text: string };
    expect(rb).toMatchObject({ version: 3, text: 'v one' });
    const hist = JSON.parse((await run(['directive', 'history', 'gamma', '--json'])).stdout) as { version: number }[];
    expect(hist.map((h) => h.version).sort()).toEqual([1, 2, 3]);
    expect((await run(['directive', 'set', 'gamma'])).exitCode).toBe(2);
    expect((await run(['directive', 'set', 'nobody', '--text', 'x'])).exitCode).toBe(1);
  });

  it('20 concurrent directive sets get 20 distinct consecutive versions', async () => {
    await run(['agent', 'create', 'delta']);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run(['directive', 'set', 'delta', '--text', `text ${i}`, '--json'])));
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const versions = results.map((r) => (JSON.parse(r.stdout) as { version: number }).version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 60_000);

  it('migrate --status does not migrate; an unreachable store is a user error for migrate too', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'ibex-cli-migrate-'));
    try {
      const st = await run(['migrate', '--status', '--json'], { IBEX_HOME: fresh });
      expect((JSON.parse(st.stdout) as { applied: boolean }[]).every((m) => !m.applied)).toBe(true);
      const applied = await run(['migrate'], { IBEX_HOME: fresh });
      expect(applied.stdout).toMatch(/sqlite: applied 0001_/);
      for (const args of [['migrate'], ['migrate', '--status'], ['agent', 'list']]) {
        const r = await run(args, { IBEX_HOME: fresh, IBEX_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
        expect(r.exitCode, args.join(' ')).toBe(1);
        expect(r.stderr).toMatch(/^error: cannot reach the stores/m);
        expect(r.stderr).toMatch(/^hint: /m);
        expect(r.stderr).not.toMatch(/a bug/);
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('migrate --status lists applied migrations; config set/get/path', async () => {
    const st = JSON.parse((await run(['migrate', '--status', '--json'])).stdout) as { name: string; applied: boolean }[];
    expect(st.length).toBeGreaterThanOrEqual(4);
    expect(st.every((m) => m.applied)).toBe(true);
    const path = (await run(['config', 'path'])).stdout.trim();
    expect(path).toBe(join(home, 'config.json'));
    expect((await run(['config', 'set', 'port', '9999'])).exitCode).toBe(0);
    expect((await run(['config', 'get', 'port'])).stdout.trim()).toBe('9999');
    expect((await run(['config', 'set', 'nonsense', '1'])).exitCode).toBe(2);
    // the state folder keeps its secrets private
    expect(statSync(home).mode & 0o077).toBe(0);
  });
});
