import { afterEach, describe, expect, it } from 'vitest';
import { AuthCache, type AuthCacheOptions, type AuthOutcome } from '../../src/auth/auth-cache.js';
import { generatePat, PAT_PREFIX } from '../../src/auth/pat.js';
import { StoreTokenValidator } from '../../src/auth/store-validator.js';
import { IbexError } from '../../src/errors.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import { CountingTokenStore, latch, sleep } from './auth-fakes.js';

const caches: AuthCache[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.stop();
});

async function setup(opts: Partial<AuthCacheOptions> = {}, store = new CountingTokenStore()) {
  const cache = new AuthCache({ validator: new StoreTokenValidator(store), index: store, ...opts });
  caches.push(cache);
  await cache.start();
  return { cache, store };
}

async function rejection(p: Promise<unknown>): Promise<IbexError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IbexError);
    return err as IbexError;
  }
  throw new Error('expected a rejection');
}

describe('AuthCache: hit path', () => {
  it('answers a second request from the LRU without a store lookup', async () => {
    const { cache, store } = await setup();
    const { token, record } = await store.issue(['a1', 'a2'], { rpm: 30 });
    const first = await cache.authenticate(token);
    expect(first).toMatchObject({ patId: record.id, hash: record.hash, agents: ['a1', 'a2'], rpm: 30, expiresAt: null });
    expect(store.calls.findByHash).toBe(1);
    const second = await cache.authenticate(token);
    expect(second.patId).toBe(record.id);
    expect(store.calls.findByHash).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, lookups: 1, size: 1 });
  });

  it('rejects an expired PAT on a cache hit (expiry checked on every hit)', async () => {
    let now = Date.now();
    const { cache, store } = await setup({ now: () => now });
    const { token } = await store.issue(['a'], { expiresAt: now + 1000 });
    await expect(cache.authenticate(token)).resolves.toMatchObject({ expiresAt: now + 1000 });
    now += 999;
    await expect(cache.authenticate(token)).resolves.toBeTruthy();
    now += 1;
    const err = await rejection(cache.authenticate(token));
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).toMatch(/expired/);
    expect(store.calls.findByHash).toBe(1); // rejected from the cached principal itself
  });

  it('rejects an already-expired PAT on a miss and does not cache it', async () => {
    const { cache, store } = await setup();
    const { token } = await store.issue(['a'], { expiresAt: Date.now() - 1 });
    expect((await rejection(cache.authenticate(token))).message).toMatch(/expired/);
    expect(cache.stats().size).toBe(0);
  });
});

describe('AuthCache: malformed tokens cost nothing', () => {
  const good = generatePat().token;
  const flipped = good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A'); // checksum no longer matches
  const cases: [string, string | null | undefined][] = [
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['not a PAT', 'sk-abcdef'],
    ['bad checksum', flipped],
    ['too short', good.slice(0, -2)],
    ['prefix only', PAT_PREFIX],
    ['non-base62', good.slice(0, 12) + '-' + good.slice(13)],
  ];
  it.each(cases)('%s → 401 with no lookup and nothing cached', async (_name, token) => {
    const { cache, store } = await setup();
    const before = { ...store.calls };
    const err = await rejection(cache.authenticate(token));
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(store.calls).toEqual(before);
    expect(store.calls.findByHash).toBe(0);
    expect(cache.stats()).toMatchObject({ malformed: 1, lookups: 0, size: 0 });
  });
});

describe('AuthCache: flood of well-formed unknown tokens', () => {
  it('10,000 random tokens reach the store at most burst + rate·t times', async () => {
    const rate = 20;
    const burst = 20;
    const outcomes = new Map<AuthOutcome, number>();
    const { cache, store } = await setup({
      unknownLookupsPerSecond: rate,
      unknownLookupBurst: burst,
      onOutcome: (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1),
    });
    // Some real tokens so the filter is not empty.
    for (let i = 0; i < 50; i++) await store.issue(['a']);
    const createdSinceBefore = store.calls.createdSince;
    const tokens = Array.from({ length: 10_000 }, () => generatePat().token);
    const t0 = performance.now();
    const results = await Promise.allSettled(tokens.map((t) => cache.authenticate(t)));
    const elapsedS = (performance.now() - t0) / 1000;

    expect(results.every((r) => r.status === 'rejected' && (r.reason as IbexError).code === 'invalid_api_key')).toBe(true);
    // The bound: the bucket's burst plus its refill over the run, plus bloom false positives
    // (rate 1e-4 · 10,000 ≈ 1; allow a few).
    const bound = burst + Math.ceil(rate * elapsedS) + 5;
    expect(store.calls.findByHash).toBeLessThanOrEqual(bound);
    expect(store.calls.findByHash).toBeGreaterThanOrEqual(burst); // the budget is used, not zero
    // Index refreshes are bounded too: at most one per 250 ms, plus the 1 s poll.
    expect(store.calls.createdSince - createdSinceBefore).toBeLessThanOrEqual(Math.ceil(elapsedS / 0.25) + Math.ceil(elapsedS) + 2);
    const s = cache.stats();
    expect(s.bloomRejects).toBeGreaterThan(9_900);
    expect(s.budgetRejects).toBe(0);
    expect(outcomes.get('bloom_reject')).toBe(s.bloomRejects);
    expect(s.size).toBe(0);
  });

  it('caches unknown answers briefly: the same unknown token twice is looked up once', async () => {
    const { cache, store } = await setup();
    const token = generatePat().token;
    await rejection(cache.authenticate(token));
    await rejection(cache.authenticate(token));
    expect(store.calls.findByHash).toBe(1);
    expect(cache.stats().negativeHits).toBe(1);
  });

  it('a PAT created (elsewhere, no push) during a flood still works on its first request', async () => {
    const { cache, store } = await setup({ unknownLookupBurst: 5, unknownLookupsPerSecond: 5 });
    const flood = Array.from({ length: 2_000 }, () => cache.authenticate(generatePat().token).catch(() => null));
    const { token, record } = await store.issue(['a']); // the bucket is empty by now
    expect(cache.stats().budgetExhausted).toBeGreaterThan(0);
    await expect(cache.authenticate(token)).resolves.toMatchObject({ patId: record.id });
    await Promise.all(flood);
    expect(store.calls.findByHash).toBeLessThanOrEqual(5 + 5 * 2 + 5);
  });
});

describe('AuthCache: new tokens', () => {
  it('a PAT created after start works on its very first request, before the poll saw it', async () => {
    const { cache, store } = await setup({ pollIntervalMs: 1000 });
    const refreshes = cache.stats().indexRefreshes;
    const { token, record } = await store.issue(['a']);
    await expect(cache.authenticate(token)).resolves.toMatchObject({ patId: record.id });
    expect(cache.stats().indexRefreshes).toBe(refreshes); // it was the budgeted lookup, not a poll
    expect(cache.stats().unknownLookups).toBe(1);
  });

  it("a 'pat-created' push puts the hash in the filter: no budget used", async () => {
    const bus = new MemoryBus();
    const { cache, store } = await setup({ bus, unknownLookupBurst: 1, unknownLookupsPerSecond: 0.001 });
    const { token, record } = await store.issue(['a']);
    await bus.publish('pat-created', { hash: record.hash });
    await expect(cache.authenticate(token)).resolves.toMatchObject({ patId: record.id });
    expect(cache.stats().unknownLookups).toBe(0);
  });

  it('the background poll adds new hashes to the filter within a second', async () => {
    const { cache, store } = await setup({ pollIntervalMs: 100, unknownLookupBurst: 0, unknownLookupsPerSecond: 0.001 });
    const { token } = await store.issue(['a']);
    await sleep(350);
    expect(cache.stats().indexSize).toBe(1);
    await expect(cache.authenticate(token)).resolves.toBeTruthy();
    expect(cache.stats()).toMatchObject({ unknownLookups: 0, budgetExhausted: 0 });
  });
});

describe('AuthCache: lookups', () => {
  it('coalesces concurrent lookups of one hash into one store call', async () => {
    const { cache, store } = await setup();
    const { token } = await store.issue(['a']);
    const gate = latch();
    store.gate = gate.promise;
    const all = Array.from({ length: 50 }, () => cache.authenticate(token));
    await sleep(5);
    gate.open();
    const principals = await Promise.all(all);
    expect(new Set(principals.map((p) => p.patId)).size).toBe(1);
    expect(store.calls.findByHash).toBe(1);
    expect(cache.stats().coalesced).toBe(49);
  });

  it('a store failure on a miss is a 503, while cached tokens keep being served', async () => {
    const { cache, store } = await setup();
    const cached = await store.issue(['a']);
    const uncached = await store.issue(['a']);
    await cache.authenticate(cached.token);
    store.failWith = new Error('disk on fire');
    const err = await rejection(cache.authenticate(uncached.token));
    expect(err.status).toBe(503);
    expect(err.code).toBe('service_unavailable');
    await expect(cache.authenticate(cached.token)).resolves.toBeTruthy();
    // the failure is not cached: once the store is back, the token works
    store.failWith = null;
    await expect(cache.authenticate(uncached.token)).resolves.toBeTruthy();
  });

  it('a store that stalls past the deadline is a 503', async () => {
    const store = new CountingTokenStore();
    const { cache } = await setup({ validator: new StoreTokenValidator(store, { deadlineMs: 50 }) }, store);
    const { token } = await store.issue(['a']);
    const gate = latch();
    store.gate = gate.promise;
    const t0 = performance.now();
    const err = await rejection(cache.authenticate(token));
    expect(err.status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(500);
    gate.open();
  });

  it('a lookup in flight while the PAT is revoked does not cache (or return) the stale principal', async () => {
    const { cache, store } = await setup();
    const { token, record } = await store.issue(['a']);
    const gate = latch();
    store.gate = gate.promise;
    const inflight = cache.authenticate(token); // the store read happens now, before the revocation
    await sleep(5);
    await store.revoke(record.id);
    cache.evictHash(record.hash); // what the RevocationWatcher does on the event
    gate.open();
    expect((await rejection(inflight)).status).toBe(401);
    expect(cache.stats().size).toBe(0);
    store.gate = null;
    expect((await rejection(cache.authenticate(token))).status).toBe(401);
  });

  it('evictHash drops a cached principal at once and keeps refusing it', async () => {
    const { cache, store } = await setup();
    const { token, record } = await store.issue(['a']);
    await cache.authenticate(token);
    await cache.authenticate(token); // a hit through the token → hash memo
    cache.evictHash(record.hash);
    const lookups = store.calls.findByHash;
    expect((await rejection(cache.authenticate(token))).status).toBe(401);
    expect(store.calls.findByHash).toBe(lookups); // refused from the revoked set
  });

  it('the positive TTL is a safety net: an entry expires and is looked up again', async () => {
    const { cache, store } = await setup({ positiveTtlMs: 50 });
    const { token } = await store.issue(['a']);
    await cache.authenticate(token);
    await sleep(80);
    await cache.authenticate(token);
    expect(store.calls.findByHash).toBe(2);
  });
});

describe('AuthCache: index unavailable at start', () => {
  it('starts anyway, serves new tokens on the budget, and loads the filter once the store is back', async () => {
    const store = new CountingTokenStore();
    store.failWith = new Error('down');
    const lines: string[] = [];
    const { cache } = await setup({ pollIntervalMs: 50, log: (l) => lines.push(l), unknownLookupBurst: 1, unknownLookupsPerSecond: 0.001 }, store);
    expect(cache.stats().indexLoaded).toBe(false);
    expect(lines.join('\n')).toMatch(/token index unavailable/);
    store.failWith = null;
    const { token } = await store.issue(['a']);
    await expect(cache.authenticate(token)).resolves.toBeTruthy(); // the one budgeted lookup
    // budget empty and store down: cannot tell → 503, not 401
    store.failWith = new Error('down');
    const second = await store.issue(['a']);
    expect((await rejection(cache.authenticate(second.token))).status).toBe(503);
    expect(cache.stats().budgetRejects).toBe(1);
    store.failWith = null;
    await sleep(150);
    expect(cache.stats().indexLoaded).toBe(true);
    await expect(cache.authenticate(second.token)).resolves.toBeTruthy();
  });
});
