import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenIndex } from '../../src/auth/token-index.js';
import { TokenBucket } from '../../src/auth/token-bucket.js';

const randomHash = () => createHash('sha256').update(randomBytes(32)).digest('hex');

describe('TokenIndex', () => {
  it('has every added hash, and few false positives at capacity', () => {
    const added = Array.from({ length: 5_000 }, randomHash);
    const index = new TokenIndex(added, added.length, { errorRate: 1e-4 });
    expect(index.capacity).toBe(10_000);
    for (let i = 0; i < 5_000; i++) index.add(randomHash()); // fill to capacity
    expect(added.every((h) => index.has(h))).toBe(true);
    let fp = 0;
    for (let i = 0; i < 50_000; i++) if (index.has(randomHash())) fp++;
    // expected ≈ 5 at 1e-4; a broken digest slicing (correlated indexes) gives hundreds
    expect(fp).toBeLessThan(40);
    expect(index.full).toBe(false);
    index.add(randomHash());
    expect(index.full).toBe(true);
  });

  it('still works for inputs that are not hex digests (library hashing fallback)', () => {
    const index = new TokenIndex(['not-a-digest', 'ABC'], 2);
    expect(index.has('not-a-digest')).toBe(true);
    expect(index.has('ABC')).toBe(true);
    expect(index.has('other')).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate', () => {
    let t = 0;
    const bucket = new TokenBucket(10, 3, () => t);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    t += 100; // 10/s → one token per 100 ms
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    t += 10_000; // never more than the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });
});
