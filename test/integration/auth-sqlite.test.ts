// The auth stage in-process over the real SQLite adapter. "Another process" is a second connection
// to the same file that shares no bus with the cache under test, exactly what the gateway sees when
// the CLI writes: only the database changes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuth, verifyAgent, type Auth } from '../../src/auth/index.js';
import { generatePat } from '../../src/auth/pat.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import type { TokenStore } from '../../src/stores/ports.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { createPat, revokePat, setAgentEnabled } from '../../src/ops/identity.js';

let dir: string;
let gatewayStores: RelationalStores;
let cliStores: RelationalStores;
let auth: Auth | null = null;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ibex-auth-sqlite-'));
  const path = join(dir, 'ibex.db');
  gatewayStores = await openSqliteStores(path);
  await gatewayStores.migrate();
  cliStores = await openSqliteStores(path);
  await cliStores.agents.create({ name: 'bot' });
});

afterEach(async () => {
  await auth?.stop();
  auth = null;
  await cliStores.close();
  await gatewayStores.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway's TokenStore with its findByHash calls counted. */
function counted(tokens: TokenStore) {
  const calls = { findByHash: 0 };
  const store: TokenStore = Object.create(tokens, {
    findByHash: {
      value: (hash: string) => {
        calls.findByHash++;
        return tokens.findByHash(hash);
      },
    },
  });
  return { store, calls };
}

async function startAuth(opts: { bus?: MemoryBus; tokens?: TokenStore; pollIntervalMs?: number } = {}) {
  auth = createAuth({
    tokens: opts.tokens ?? gatewayStores.tokens,
    agents: gatewayStores.agents,
    revocations: gatewayStores.revocations,
    bus: opts.bus ?? new MemoryBus(),
    pollIntervalMs: opts.pollIntervalMs,
  });
  await auth.start();
  return auth;
}

describe('auth over SQLite, CLI in another process', () => {
  it('a PAT the CLI just created works on the first request, and its revocation lands within ~1 s by poll', async () => {
    const a = await startAuth();
    const cliBus = new MemoryBus(); // the CLI's bus reaches nobody here
    const { token, record } = await createPat({ ...cliStores, bus: cliBus }, { agents: ['bot'] });
    const principal = await a.authCache.authenticate(token);
    expect(principal).toMatchObject({ patId: record.id, agents: ['bot'] });
    await expect(verifyAgent(principal, undefined, a.agentCache)).resolves.toMatchObject({ name: 'bot' });

    await revokePat({ ...cliStores, bus: cliBus }, record.id);
    const t0 = performance.now();
    for (;;) {
      const ok = await a.authCache.authenticate(token).then(
        () => true,
        () => false,
      );
      if (!ok) break;
      if (performance.now() - t0 > 3000) throw new Error('revocation not applied within 3 s');
      await sleep(10);
    }
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(a.watcher.stats().bySource).toEqual({ poll: 1 });
  });

  it('10,000 random well-formed tokens: SQLite sees at most the lookup budget', async () => {
    const { store, calls } = counted(gatewayStores.tokens);
    const a = await startAuth({ tokens: store });
    for (let i = 0; i < 20; i++) await createPat({ ...cliStores, bus: new MemoryBus() }, { agents: ['bot'] });
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 10_000 }, () => a.authCache.authenticate(generatePat().token)));
    const elapsedS = (performance.now() - t0) / 1000;
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
    expect(calls.findByHash).toBeLessThanOrEqual(20 + Math.ceil(20 * elapsedS) + 5);
    // and a real token still works right after the flood
    const { token } = await createPat({ ...cliStores, bus: new MemoryBus() }, { agents: ['bot'] });
    await expect(a.authCache.authenticate(token)).resolves.toBeTruthy();
  });
});

describe('auth over SQLite with a shared bus', () => {
  it('revocation push: p99 propagation well under 250 ms over 50 revocations', async () => {
    const bus = new MemoryBus();
    const a = await startAuth({ bus });
    const ops = { ...gatewayStores, bus };
    const tokens: { token: string; id: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const { token, record } = await createPat(ops, { agents: ['bot'] });
      await a.authCache.authenticate(token);
      tokens.push({ token, id: record.id });
    }
    for (const t of tokens) {
      await revokePat(ops, t.id);
      await expect(a.authCache.authenticate(t.token)).rejects.toMatchObject({ status: 401 });
    }
    const { delayMs, applied } = a.watcher.stats();
    expect(applied).toBe(50);
    expect(delayMs.p99).toBeLessThan(250);
  });

  it('agent disable and enable reach agent-verify at once', async () => {
    const bus = new MemoryBus();
    const a = await startAuth({ bus });
    const ops = { ...gatewayStores, bus };
    const { token } = await createPat(ops, { agents: ['bot'] });
    const principal = await a.authCache.authenticate(token);
    await expect(verifyAgent(principal, undefined, a.agentCache)).resolves.toBeTruthy();
    await setAgentEnabled(ops, 'bot', false);
    await expect(verifyAgent(principal, undefined, a.agentCache)).rejects.toMatchObject({ status: 403 });
    await setAgentEnabled(ops, 'bot', true);
    await expect(verifyAgent(principal, undefined, a.agentCache)).resolves.toMatchObject({ enabled: true });
  });

  it('an expired PAT is refused on a cache hit', async () => {
    const a = await startAuth();
    const { token } = await createPat({ ...gatewayStores, bus: new MemoryBus() }, { agents: ['bot'], expiresAt: Date.now() + 300 });
    await expect(a.authCache.authenticate(token)).resolves.toBeTruthy();
    await sleep(350);
    await expect(a.authCache.authenticate(token)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/expired/) });
  });
});
