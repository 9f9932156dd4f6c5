import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/stores/memory/rate-limiter.js';
import { rateLimiterContract } from '../contracts/rate-limiter.js';

rateLimiterContract('memory', ({ now }) => {
  const limiter = new MemoryRateLimiter({ now });
  return { limiter, close: () => limiter.close() };
});

describe('MemoryRateLimiter memory bound', () => {
  const limiters: MemoryRateLimiter[] = [];
  afterEach(() => {
    for (const l of limiters.splice(0)) l.close();
  });

  it('sweep drops every ended window and keeps live ones', async () => {
    let clock = 1_000_000;
    const limiter = new MemoryRateLimiter({ now: () => clock });
    limiters.push(limiter);
    for (let i = 0; i < 1000; i++) await limiter.hit(`short-${i}`, 1, 1000);
    await limiter.hit('long', 1, 60_000);
    expect(limiter.size).toBe(1001);
    limiter.sweep();
    expect(limiter.size).toBe(1001); // nothing ended yet
    clock += 1000;
    limiter.sweep();
    expect(limiter.size).toBe(1);
    expect((await limiter.hit('long', 1, 60_000)).allowed).toBe(false); // its count survived the sweep
  });

  it('sweeps on its own timer', async () => {
    const limiter = new MemoryRateLimiter({ sweepIntervalMs: 20 });
    limiters.push(limiter);
    for (let i = 0; i < 100; i++) await limiter.hit(`k-${i}`, 5, 10);
    expect(limiter.size).toBe(100);
    const deadline = Date.now() + 2000;
    while (limiter.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(limiter.size).toBe(0);
  });
});
