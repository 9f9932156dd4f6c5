import { describe, expect, it } from 'vitest';
import { isErrorTrace, percentile, pruneSamples, windowStats, type Sample } from '../../src/tail/stats.js';

const s = (at: number, totalMs: number, error = false, agent: string | null = 'a'): Sample => ({ at, totalMs, error, agent });

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 99)).toBeNull();
  });

  it('sorts numerically, not as strings', () => {
    expect(percentile([100, 9, 20], 99)).toBe(100);
    expect(percentile([100, 9, 20], 1)).toBe(9);
  });
});

describe('windowStats', () => {
  const now = 1_000_000;

  it('counts only the last 60 s', () => {
    const samples = [s(now - 61_000, 5000, true), s(now - 30_000, 10), s(now - 1000, 20, true)];
    const st = windowStats(samples, now);
    expect(st.count).toBe(2);
    expect(st.requestsPerSecond).toBeCloseTo(2 / 60);
    expect(st.errorRate).toBe(0.5);
    expect(st.p99Ms).toBe(20);
  });

  it('divides by the observed time until a full window has passed', () => {
    const samples = Array.from({ length: 50 }, (_, i) => s(now - i * 100, 1));
    expect(windowStats(samples, now, { since: now - 10_000 }).requestsPerSecond).toBeCloseTo(5);
    // never less than one second, so a single early event is not a huge rate
    expect(windowStats([s(now, 1)], now, { since: now - 10 }).requestsPerSecond).toBe(1);
    expect(windowStats(samples, now, { since: now - 600_000 }).requestsPerSecond).toBeCloseTo(50 / 60);
  });

  it('p99 reflects the slow tail', () => {
    const samples = Array.from({ length: 200 }, (_, i) => s(now - 10, i < 197 ? 10 : 900));
    expect(windowStats(samples, now).p99Ms).toBe(900);
    const fewSlow = Array.from({ length: 200 }, (_, i) => s(now - 10, i < 199 ? 10 : 900));
    expect(windowStats(fewSlow, now).p99Ms).toBe(10);
  });

  it('filters by agent', () => {
    const samples = [s(now - 5, 10, false, 'a'), s(now - 5, 500, true, 'b'), s(now - 5, 700, true, 'b')];
    const b = windowStats(samples, now, { agent: 'b' });
    expect(b.count).toBe(2);
    expect(b.errorRate).toBe(1);
    expect(windowStats(samples, now, { agent: 'a' }).p99Ms).toBe(10);
  });

  it('is empty-safe', () => {
    expect(windowStats([], now)).toEqual({ count: 0, requestsPerSecond: 0, errorRate: 0, p99Ms: null });
  });
});

describe('pruneSamples', () => {
  it('drops the expired prefix in place', () => {
    const samples = [s(1, 1), s(2, 1), s(70_000, 1), s(80_000, 1)];
    expect(pruneSamples(samples, 80_000)).toBe(2);
    expect(samples.map((x) => x.at)).toEqual([70_000, 80_000]);
    expect(pruneSamples(samples, 80_000)).toBe(0);
  });
});

describe('isErrorTrace', () => {
  it('treats HTTP errors and errored streams as errors', () => {
    expect(isErrorTrace({ status: 200, errorCode: null })).toBe(false);
    expect(isErrorTrace({ status: 429, errorCode: 'rate_limit_exceeded' })).toBe(true);
    expect(isErrorTrace({ status: 200, errorCode: 'upstream_error' })).toBe(true);
  });
});
