// One behavioural suite every RateLimiter adapter must pass (memory, Redis), so they cannot drift.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/stores/ports.js';

export interface RateLimiterHarness {
  limiter: RateLimiter;
  close?: () => Promise<void> | void;
}

/** The adapter must take its time from `now`, so windows can be crossed without sleeping. */
export type RateLimiterFactory = (opts: { now: () => number }) => Promise<RateLimiterHarness> | RateLimiterHarness;

const MINUTE = 60_000;

export function rateLimiterContract(name: string, factory: RateLimiterFactory): void {
  describe(`RateLimiter contract: ${name}`, () => {
    // A controllable clock, aligned to a real minute so real TTLs (Redis) stay sensible.
    let clock = 0;
    const now = (): number => clock;
    const opened: RateLimiterHarness[] = [];
    const open = async (): Promise<RateLimiter> => {
      clock = Math.floor(Date.now() / MINUTE) * MINUTE + 1000;
      const h = await factory({ now });
      opened.push(h);
      return h.limiter;
    };
    const key = (): string => `k-${randomBytes(5).toString('hex')}`;

    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close?.();
    });

    it('allows `limit` hits per window, counting remaining down, then denies', async () => {
      const limiter = await open();
      const k = key();
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await limiter.hit(k, 5, MINUTE));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
      expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect(results.every((r) => r.limit === 5)).toBe(true);
    });

    it('reports resetMs as the time left in the window, within (0, windowMs]', async () => {
      const limiter = await open();
      const windowMs = 1000;
      clock = Math.floor(clock / windowMs) * windowMs + 250;
      const mid = await limiter.hit(key(), 3, windowMs);
      expect(mid.resetMs).toBe(750);
      clock = Math.floor(clock / windowMs) * windowMs + windowMs; // exactly at a window start
      const atStart = await limiter.hit(key(), 3, windowMs);
      expect(atStart.resetMs).toBe(windowMs);
      clock += windowMs - 1; // last ms of the window
      const atEnd = await limiter.hit(key(), 3, windowMs);
      expect(atEnd.resetMs).toBe(1);
      for (const r of [mid, atStart, atEnd]) {
        expect(r.resetMs).toBeGreaterThan(0);
        expect(r.resetMs).toBeLessThanOrEqual(windowMs);
      }
    });

    it('counts separate keys independently', async () => {
      const limiter = await open();
      const a = key();
      const b = key();
      await limiter.hit(a, 2, MINUTE);
      await limiter.hit(a, 2, MINUTE);
      expect((await limiter.hit(a, 2, MINUTE)).allowed).toBe(false);
      const first = await limiter.hit(b, 2, MINUTE);
      expect(first).toMatchObject({ allowed: true, remaining: 1 });
    });

    it('starts a fresh count in the next window', async () => {
      const limiter = await open();
      const k = key();
      const windowMs = 10_000;
      clock = Math.floor(clock / windowMs) * windowMs + 9_000;
      for (let i = 0; i < 3; i++) await limiter.hit(k, 3, windowMs);
      const denied = await limiter.hit(k, 3, windowMs);
      expect(denied.allowed).toBe(false);
      expect(denied.resetMs).toBe(1000);
      clock += denied.resetMs;
      const fresh = await limiter.hit(k, 3, windowMs);
      expect(fresh).toMatchObject({ allowed: true, remaining: 2, resetMs: windowMs });
    });

    it('allows exactly `limit` of 50 concurrent hits', async () => {
      const limiter = await open();
      const k = key();
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter.hit(k, 10, MINUTE)));
      const allowed = results.filter((r) => r.allowed);
      expect(allowed).toHaveLength(10);
      expect(allowed.map((r) => r.remaining).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0)).toBe(true);
    });
  });
}
