// The Auth gRPC service and its client over a real SQLite store, on ephemeral 127.0.0.1 ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthCache } from '../../src/auth/auth-cache.js';
import { GrpcTokenValidator } from '../../src/auth/grpc-client.js';
import { startAuthServer, type AuthServer } from '../../src/auth/grpc-server.js';
import { createAuth } from '../../src/auth/index.js';
import { generatePat, hashToken } from '../../src/auth/pat.js';
import { IbexError } from '../../src/errors.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import type { RevocationEvent, TokenStore } from '../../src/stores/ports.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { createPat, revokePat } from '../../src/ops/identity.js';

let dir: string;
let stores: RelationalStores;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ibex-auth-grpc-'));
  stores = await openSqliteStores(join(dir, 'ibex.db'));
  await stores.migrate();
  await stores.agents.create({ name: 'bot' });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function issue(opts: { expiresAt?: number | null; rpm?: number | null; tpm?: number; budgetUsdDay?: number } = {}) {
  const t = generatePat();
  const record = await stores.tokens.create({ id: t.id, prefix: t.prefix, hash: t.hash, agents: ['bot'], ...opts });
  return { token: t.token, record };
}

async function server(tokens: TokenStore = stores.tokens, extra: { bus?: MemoryBus; port?: number; heartbeatMs?: number } = {}) {
  const s = await startAuthServer({ port: extra.port ?? 0, host: '127.0.0.1', tokens, revocations: stores.revocations, bus: extra.bus, heartbeatMs: extra.heartbeatMs });
  cleanups.push(() => s.close());
  return s;
}

function client(s: Pick<AuthServer, 'port'>, opts: { deadlineMs?: number } = {}) {
  const c = new GrpcTokenValidator({ url: `grpc://127.0.0.1:${s.port}`, reconnectMinMs: 50, reconnectMaxMs: 200, ...opts });
  cleanups.push(() => c.close());
  return c;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(5);
  }
  return performance.now() - t0;
}

describe('Auth gRPC service', () => {
  it('ValidateToken answers from the store with the hash only', async () => {
    const c = client(await server());
    const expiresAt = Date.now() + 3_600_000;
    const { token, record } = await issue({ expiresAt, rpm: 42 });
    const plain = await issue();
    await expect(c.validate(hashToken(token))).resolves.toEqual({ patId: record.id, hash: record.hash, agents: ['bot'], rpm: 42, expiresAt });
    await expect(c.validate(plain.record.hash)).resolves.toMatchObject({ rpm: null, expiresAt: null });
    await expect(c.validate(hashToken(generatePat().token))).resolves.toBeNull();
    await stores.tokens.revoke(record.id);
    await expect(c.validate(record.hash)).resolves.toBeNull();
  });

  it("ValidateToken carries the PAT's token limit and budgets", async () => {
    const c = client(await server());
    const { record } = await issue({ tpm: 1000, budgetUsdDay: 2.5 });
    const principal = await c.validate(record.hash);
    expect(principal?.limits).toMatchObject({ tpm: 1000, budgetUsdDay: 2.5, budgetTokensDay: null, budgetFallbackModel: null });
  });

  it('CreatedSince feeds the bloom filter incrementally', async () => {
    const c = client(await server());
    const a = await issue();
    const first = await c.createdSince(0);
    expect(first.hashes).toEqual([a.record.hash]);
    const b = await issue();
    const next = await c.createdSince(first.cursor);
    expect(next.hashes).toEqual([b.record.hash]);
  });

  it('WatchRevocations streams events recorded after the start, then live ones', async () => {
    const s = await server();
    const c = client(s);
    const old = await issue();
    await stores.tokens.revoke(old.record.id); // before the watch: must not be replayed
    const { record } = await issue();
    const got: RevocationEvent[] = [];
    const stop = c.watchRevocations(-1, (e) => got.push(e));
    cleanups.push(stop);
    await sleep(100);
    await stores.tokens.revoke(record.id);
    await stores.agents.setEnabled('bot', false);
    await waitFor(() => got.length >= 2, 2000);
    await sleep(300); // a lagging shared poller would deliver the old event by now
    expect(got.map((e) => [e.kind, e.subject])).toEqual([
      ['pat', record.hash],
      ['agent', 'bot'],
    ]);
    expect(got[0]!.patId).toBe(record.id);
  });

  it('WatchRevocations with after_seq replays what the caller missed', async () => {
    const s = await server();
    const before = await stores.revocations.head();
    const { record } = await issue();
    await stores.tokens.revoke(record.id);
    const got: RevocationEvent[] = [];
    cleanups.push(client(s).watchRevocations(before, (e) => got.push(e)));
    await waitFor(() => got.length === 1, 2000);
    expect(got[0]).toMatchObject({ kind: 'pat', subject: record.hash, seq: before + 1 });
  });

  it('a bus push reaches the stream without waiting for the server poll', async () => {
    const bus = new MemoryBus();
    const s = await server(stores.tokens, { bus });
    const got: RevocationEvent[] = [];
    cleanups.push(client(s).watchRevocations(-1, (e) => got.push(e)));
    await sleep(100);
    const { record } = await issue();
    const t0 = performance.now();
    const ops = { ...stores, bus };
    await revokePat(ops, record.id);
    const ms = await waitFor(() => got.length >= 1, 2000);
    expect(performance.now() - t0).toBeLessThan(250);
    expect(ms).toBeLessThan(250);
  });

  it('the stream reconnects after the server restarts and delivers what happened meanwhile', async () => {
    const first = await server();
    const port = first.port;
    const lines: string[] = [];
    const c = new GrpcTokenValidator({ url: `grpc://127.0.0.1:${port}`, reconnectMinMs: 50, reconnectMaxMs: 200, log: (l) => lines.push(l) });
    cleanups.push(() => c.close());
    const got: RevocationEvent[] = [];
    cleanups.push(c.watchRevocations(-1, (e) => got.push(e)));
    await sleep(150); // the first sync marker has set the cursor
    await first.close();
    const { record } = await issue();
    await stores.tokens.revoke(record.id); // while no server runs
    await server(stores.tokens, { port });
    await waitFor(() => got.length === 1, 3000);
    expect(got[0]).toMatchObject({ kind: 'pat', subject: record.hash });
    expect(lines.join('\n')).toMatch(/lost/);
  });

  it('a stalled ValidateToken hits the client deadline → AuthCache answers 503', async () => {
    const stalled: TokenStore = Object.create(stores.tokens, {
      findByHash: { value: () => new Promise(() => {}) },
    });
    const c = client(await server(stalled), { deadlineMs: 100 });
    const cache = new AuthCache({ validator: c, index: c });
    await cache.start();
    cleanups.push(() => cache.stop());
    const { token } = await issue();
    const t0 = performance.now();
    const err = await cache.authenticate(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IbexError);
    expect((err as IbexError).status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('server down: an uncached token gets 503, a cached one is still served', async () => {
    const s = await server();
    const c = client(s);
    const cache = new AuthCache({ validator: c, index: c });
    await cache.start();
    cleanups.push(() => cache.stop());
    const cached = await issue();
    const uncached = await issue();
    await cache.authenticate(cached.token);
    await s.close();
    const err = await cache.authenticate(uncached.token).catch((e: unknown) => e);
    expect((err as IbexError).status).toBe(503);
    await expect(cache.authenticate(cached.token)).resolves.toMatchObject({ patId: cached.record.id });
  });
});

describe('createAuth over gRPC', () => {
  it('authenticates through the auth server and evicts on a revocation from its stream', async () => {
    const s = await server();
    // The gateway's own stores are deliberately unusable: everything must go through gRPC.
    const unusable = new Proxy({}, { get: () => () => Promise.reject(new Error('gateway must not read this store')) });
    const auth = createAuth({
      tokens: unusable as never,
      agents: stores.agents,
      revocations: unusable as never,
      bus: new MemoryBus(),
      authUrl: `grpc://127.0.0.1:${s.port}`,
    });
    expect(auth.describe()).toBe(`auth: grpc://127.0.0.1:${s.port}`);
    await auth.start();
    cleanups.push(() => auth.stop());
    const { token, record } = await issue();
    await expect(auth.authCache.authenticate(token)).resolves.toMatchObject({ patId: record.id });
    await sleep(100);
    await stores.tokens.revoke(record.id);
    const ms = await waitFor(() => auth.watcher.stats().applied === 1, 2000);
    expect(ms).toBeLessThan(1000); // server poll ≤ 250 ms
    await expect(auth.authCache.authenticate(token)).rejects.toMatchObject({ status: 401 });
    expect(auth.watcher.stats().bySource).toEqual({ grpc: 1 });
  });

  it('in-process mode describes itself', () => {
    const auth = createAuth({ tokens: stores.tokens, agents: stores.agents, revocations: stores.revocations, bus: new MemoryBus() });
    expect(auth.describe()).toBe('auth: in-process');
  });

  it('ops createPat + revokePat with a shared bus: the first request works, revocation is immediate', async () => {
    const bus = new MemoryBus();
    const auth = createAuth({ tokens: stores.tokens, agents: stores.agents, revocations: stores.revocations, bus });
    await auth.start();
    cleanups.push(() => auth.stop());
    const ops = { ...stores, bus };
    const { token, record } = await createPat(ops, { agents: ['bot'] });
    await expect(auth.authCache.authenticate(token)).resolves.toMatchObject({ patId: record.id });
    expect(auth.authCache.stats().unknownLookups).toBe(0); // pat-created push put it in the filter
    await revokePat(ops, record.id);
    await expect(auth.authCache.authenticate(token)).rejects.toMatchObject({ status: 401 });
  });
});
