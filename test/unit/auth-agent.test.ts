import { describe, expect, it } from 'vitest';
import { AgentCache } from '../../src/auth/agent-cache.js';
import type { Principal } from '../../src/auth/principal.js';
import { verifyAgent } from '../../src/auth/verify-agent.js';
import { IbexError } from '../../src/errors.js';
import { CountingAgentStore, latch, sleep } from './auth-fakes.js';

const principal = (agents: string[]): Principal => ({ patId: 'pat_1', hash: 'f'.repeat(64), agents, rpm: null, expiresAt: null });

async function setup() {
  const store = new CountingAgentStore();
  await store.create({ name: 'alpha', rpm: 10 });
  await store.create({ name: 'beta' });
  await store.create({ name: 'gamma' });
  await store.setEnabled('gamma', false);
  return { store, cache: new AgentCache(store) };
}

async function forbidden(p: Promise<unknown>): Promise<IbexError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IbexError);
  expect((err as IbexError).status).toBe(403);
  expect((err as IbexError).code).toBe('agent_forbidden');
  return err as IbexError;
}

describe('verifyAgent', () => {
  it('a PAT bound to one agent needs no header', async () => {
    const { cache } = await setup();
    await expect(verifyAgent(principal(['alpha']), undefined, cache)).resolves.toMatchObject({ name: 'alpha', rpm: 10 });
  });

  it('the header may still name the single agent', async () => {
    const { cache } = await setup();
    await expect(verifyAgent(principal(['alpha']), 'alpha', cache)).resolves.toMatchObject({ name: 'alpha' });
  });

  it('the header picks among several bound agents', async () => {
    const { cache } = await setup();
    await expect(verifyAgent(principal(['alpha', 'beta']), 'beta', cache)).resolves.toMatchObject({ name: 'beta' });
    await expect(verifyAgent(principal(['alpha', 'beta']), ' alpha ', cache)).resolves.toMatchObject({ name: 'alpha' });
  });

  it('several bound agents and no header → 403 telling to send X-Ibex-Agent', async () => {
    const { cache, store } = await setup();
    const err = await forbidden(verifyAgent(principal(['alpha', 'beta']), undefined, cache));
    expect(err.message).toMatch(/X-Ibex-Agent/);
    expect(store.calls.get).toBe(0);
  });

  it('an agent the PAT is not bound to → 403 without a store lookup', async () => {
    const { cache, store } = await setup();
    await forbidden(verifyAgent(principal(['alpha']), 'beta', cache));
    expect(store.calls.get).toBe(0);
  });

  it('an unknown agent → 403', async () => {
    const { cache } = await setup();
    expect((await forbidden(verifyAgent(principal(['ghost']), undefined, cache))).message).toMatch(/does not exist/);
  });

  it('a disabled agent → 403', async () => {
    const { cache } = await setup();
    expect((await forbidden(verifyAgent(principal(['gamma']), undefined, cache))).message).toMatch(/disabled/);
  });

  it('a PAT bound to no agent → 403', async () => {
    const { cache } = await setup();
    await forbidden(verifyAgent(principal([]), undefined, cache));
  });

  it('an agent store failure → 503', async () => {
    const { cache, store } = await setup();
    store.failWith = new Error('down');
    const err = await verifyAgent(principal(['alpha']), undefined, cache).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});

describe('AgentCache', () => {
  it('caches: the second get costs no store call', async () => {
    const { cache, store } = await setup();
    await cache.get('alpha');
    await cache.get('alpha');
    expect(store.calls.get).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, lookups: 1, size: 1 });
  });

  it('evict forces a fresh read', async () => {
    const { cache, store } = await setup();
    expect((await cache.get('alpha'))?.enabled).toBe(true);
    await store.setEnabled('alpha', false);
    expect((await cache.get('alpha'))?.enabled).toBe(true); // still cached
    cache.evict('alpha');
    expect((await cache.get('alpha'))?.enabled).toBe(false);
    expect(store.calls.get).toBe(2);
  });

  it('caches disabled / unknown agents only briefly (enable is not pushed)', async () => {
    const store = new CountingAgentStore();
    await store.create({ name: 'a' });
    await store.setEnabled('a', false);
    const cache = new AgentCache(store, { disabledTtlMs: 40, enabledTtlMs: 60_000 });
    expect((await cache.get('a'))?.enabled).toBe(false);
    expect(await cache.get('nobody')).toBeNull();
    await store.setEnabled('a', true);
    await sleep(70);
    expect((await cache.get('a'))?.enabled).toBe(true);
    expect(store.calls.get).toBe(3);
  });

  it('coalesces concurrent reads of one agent', async () => {
    const { cache, store } = await setup();
    const gate = latch();
    store.gate = gate.promise;
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get('beta')));
    gate.open();
    expect((await all).every((a) => a?.name === 'beta')).toBe(true);
    expect(store.calls.get).toBe(1);
  });

  it('a read in flight while the agent is disabled does not cache the stale "enabled"', async () => {
    const { cache, store } = await setup();
    const gate = latch();
    store.gate = gate.promise;
    const inflight = cache.get('alpha'); // reads enabled=true now, answers later
    await sleep(5);
    await store.setEnabled('alpha', false);
    cache.evict('alpha'); // the revocation event
    store.gate = null;
    gate.open();
    // The racing read is retried, so even its own caller sees the disable.
    expect((await inflight)?.enabled).toBe(false);
    expect((await cache.get('alpha'))?.enabled).toBe(false);
  });
});
