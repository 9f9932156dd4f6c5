import { afterEach, describe, expect, it } from 'vitest';
import { AgentCache } from '../../src/auth/agent-cache.js';
import { AuthCache } from '../../src/auth/auth-cache.js';
import { RevocationWatcher, type RevocationStream } from '../../src/auth/revocation-watcher.js';
import { StoreTokenValidator } from '../../src/auth/store-validator.js';
import { verifyAgent } from '../../src/auth/verify-agent.js';
import { IbexError } from '../../src/errors.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import type { RevocationEvent } from '../../src/stores/ports.js';
import { CountingAgentStore, CountingTokenStore, MemoryRevocationLog, sleep, waitUntil } from './auth-fakes.js';

const stoppers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stoppers.splice(0)) await s();
});

async function world(opts: { bus?: boolean; pollIntervalMs?: number; streams?: RevocationStream[] } = {}) {
  const log = new MemoryRevocationLog();
  const tokens = new CountingTokenStore(log);
  const agents = new CountingAgentStore(log);
  const bus = opts.bus ? new MemoryBus() : undefined;
  const authCache = new AuthCache({ validator: new StoreTokenValidator(tokens), index: tokens, bus });
  const agentCache = new AgentCache(agents);
  const propagation: number[] = [];
  const watcher = new RevocationWatcher({
    authCache,
    agentCache,
    revocations: log,
    bus,
    streams: opts.streams,
    pollIntervalMs: opts.pollIntervalMs,
    onPropagation: (ms) => propagation.push(ms),
  });
  await watcher.start();
  await authCache.start();
  stoppers.push(async () => {
    await authCache.stop();
    await watcher.stop();
  });
  /** Revokes in the store and, with a bus, publishes the event as `ibex pat revoke` does. */
  const revoke = async (id: string) => {
    await tokens.revoke(id);
    if (bus) await bus.publish('revocation', log.events.at(-1));
  };
  return { log, tokens, agents, bus, authCache, agentCache, watcher, propagation, revoke };
}

const rejects401 = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof IbexError && err.status === 401;
};

describe('RevocationWatcher', () => {
  it('a revocation pushed on the bus evicts at once', async () => {
    const w = await world({ bus: true });
    const { token, record } = await w.tokens.issue(['a']);
    await w.authCache.authenticate(token);
    await w.revoke(record.id);
    // No waiting: MemoryBus delivers synchronously, so the very next request is refused.
    expect(await rejects401(w.authCache.authenticate(token))).toBe(true);
    expect(w.watcher.stats().bySource).toEqual({ bus: 1 });
    expect(w.propagation).toHaveLength(1);
    expect(w.propagation[0]!).toBeLessThan(250);
  });

  it('without any push, the poll evicts within about a second', async () => {
    const w = await world({ bus: false, pollIntervalMs: 1000 });
    const { token, record } = await w.tokens.issue(['a']);
    await w.authCache.authenticate(token);
    const t0 = performance.now();
    await w.tokens.revoke(record.id);
    const elapsed = await waitUntil(() => rejects401(w.authCache.authenticate(token)), 3000);
    expect(elapsed).toBeLessThan(1500);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(w.watcher.stats().bySource).toEqual({ poll: 1 });
  });

  it('applies an event once when the bus and the poll both deliver it', async () => {
    const w = await world({ bus: true, pollIntervalMs: 50 });
    const { record } = await w.tokens.issue(['a']);
    await w.revoke(record.id);
    await sleep(150);
    expect(w.watcher.stats()).toMatchObject({ applied: 1, duplicates: 1, bySource: { bus: 1 } });
    expect(w.propagation).toHaveLength(1);
  });

  it('an agent event evicts the agent cache (disable reaches agent-verify)', async () => {
    const w = await world({ bus: true });
    await w.agents.create({ name: 'bot' });
    const principal = { patId: 'p', hash: 'h', agents: ['bot'], rpm: null, expiresAt: null };
    await expect(verifyAgent(principal, undefined, w.agentCache)).resolves.toMatchObject({ name: 'bot' });
    await w.agents.setEnabled('bot', false);
    await w.bus!.publish('revocation', w.log.events.at(-1));
    await expect(verifyAgent(principal, undefined, w.agentCache)).rejects.toMatchObject({ status: 403, code: 'agent_forbidden' });
  });

  it('starts from the head: old events are not replayed', async () => {
    const log = new MemoryRevocationLog();
    await log.append({ kind: 'pat', subject: 'a'.repeat(64) });
    await log.append({ kind: 'agent', subject: 'x' });
    const evicted: string[] = [];
    const watcher = new RevocationWatcher({
      revocations: log,
      pollIntervalMs: 20,
      authCache: { evictHash: (h) => evicted.push(h), clear: () => {} },
      agentCache: { evict: (n) => evicted.push(n), clear: () => {} },
    });
    await watcher.start();
    stoppers.push(() => watcher.stop());
    await sleep(60);
    expect(evicted).toEqual([]);
    await log.append({ kind: 'agent', subject: 'y' });
    await waitUntil(() => evicted.length === 1, 1000);
    expect(evicted).toEqual(['y']);
    expect(watcher.stats().cursor).toBe(3);
  });

  it('if head() fails at start, it retries and clears the caches when it answers', async () => {
    const log = new MemoryRevocationLog();
    log.failWith = new Error('down');
    let clears = 0;
    const watcher = new RevocationWatcher({
      revocations: log,
      pollIntervalMs: 20,
      authCache: { evictHash: () => {}, clear: () => clears++ },
      agentCache: { evict: () => {}, clear: () => clears++ },
    });
    await watcher.start();
    stoppers.push(() => watcher.stop());
    expect(watcher.stats().cursor).toBeNull();
    log.failWith = null;
    await waitUntil(() => watcher.stats().cursor === 0, 1000);
    expect(clears).toBe(2);
  });

  it('takes events from extra streams and dedupes them against the poll', async () => {
    let push: ((e: RevocationEvent) => void) | null = null;
    let stopped = false;
    const stream: RevocationStream = {
      name: 'grpc',
      start(onEvent) {
        push = onEvent;
        return () => (stopped = true);
      },
    };
    const w = await world({ streams: [stream], pollIntervalMs: 50 });
    const { token, record } = await w.tokens.issue(['a']);
    await w.authCache.authenticate(token);
    await w.tokens.revoke(record.id);
    push!(w.log.events.at(-1)!);
    expect(await rejects401(w.authCache.authenticate(token))).toBe(true);
    await sleep(120);
    expect(w.watcher.stats()).toMatchObject({ applied: 1, duplicates: 1, bySource: { grpc: 1 } });
    await w.watcher.stop();
    expect(stopped).toBe(true);
  });

  it('ignores malformed bus messages', async () => {
    const w = await world({ bus: true });
    for (const m of [null, 'x', { seq: 'a' }, { seq: 1, kind: 'other', subject: 's', at: 1 }, { seq: 1, kind: 'pat', subject: '', at: 1 }]) {
      await w.bus!.publish('revocation', m);
    }
    expect(w.watcher.stats().applied).toBe(0);
  });

  it('reports p50/p99 of the propagation delay', async () => {
    const w = await world({ bus: true });
    for (let i = 0; i < 20; i++) {
      const { record } = await w.tokens.issue(['a']);
      await w.revoke(record.id);
    }
    const { delayMs, applied } = w.watcher.stats();
    expect(applied).toBe(20);
    expect(delayMs.count).toBe(20);
    expect(delayMs.p50).toBeLessThanOrEqual(delayMs.p99);
    expect(delayMs.p99).toBeLessThanOrEqual(delayMs.max);
    expect(delayMs.max).toBeLessThan(250);
  });
});

describe('RevocationWatcher: ad-hoc pushes', () => {
  it('applies every seq < 0 push (agent enable), never deduping them', async () => {
    const w = await world({ bus: true });
    await w.agents.create({ name: 'bot' });
    await w.agentCache.get('bot');
    for (let i = 0; i < 3; i++) await w.bus!.publish('revocation', { kind: 'agent', subject: 'bot', seq: -1, at: Date.now() });
    expect(w.watcher.stats()).toMatchObject({ applied: 3, duplicates: 0 });
    expect(w.agentCache.stats().size).toBe(0);
  });
});
