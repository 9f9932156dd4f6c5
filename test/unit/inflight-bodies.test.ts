// The bound of request bodies held at once (src/server/inflight-bodies.ts).
import { describe, expect, it } from 'vitest';
import { InflightBodies } from '../../src/server/inflight-bodies.js';

describe('InflightBodies', () => {
  it('reserves up to the bound, refuses beyond it, and frees on release', () => {
    const b = new InflightBodies(1000);
    expect(b.reserve(600)).toBe(true);
    expect(b.reserve(400)).toBe(true);
    expect(b.bytes).toBe(1000);
    expect(b.reserve(1)).toBe(false);
    expect(b.bytes).toBe(1000); // a refusal holds nothing
    b.release(600);
    expect(b.reserve(500)).toBe(true);
    expect(b.bytes).toBe(900);
  });

  it('a lone body larger than the bound is let through (the body limit bounds it), the next one waits for it', () => {
    const b = new InflightBodies(1000);
    expect(b.reserve(5000)).toBe(true);
    expect(b.reserve(10)).toBe(false);
    b.release(5000);
    expect(b.bytes).toBe(0);
    expect(b.reserve(10)).toBe(true);
  });

  it('tells of each refusal', () => {
    let refused = 0;
    const b = new InflightBodies(10, () => refused++);
    b.reserve(10);
    b.reserve(1);
    b.reserve(1);
    expect(refused).toBe(2);
  });

  it('never goes below zero', () => {
    const b = new InflightBodies(100);
    b.release(50);
    expect(b.bytes).toBe(0);
  });
});
