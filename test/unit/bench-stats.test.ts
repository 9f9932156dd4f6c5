import { describe, expect, it } from 'vitest';
import {
  Samples,
  bar,
  diffPercentiles,
  formatMs,
  histogramBuckets,
  percentile,
  renderHistogram,
  summarize,
} from '../../src/bench/stats.js';

/** 1, 2, …, n in a shuffled order, so summarize has to sort. */
function shuffledRange(n: number, seed = 42): number[] {
  const a = Array.from({ length: n }, (_, i) => i + 1);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('percentile (nearest rank)', () => {
  it('gives the textbook values on 1..1000', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(500);
    expect(percentile(sorted, 90)).toBe(900);
    expect(percentile(sorted, 99)).toBe(990);
    expect(percentile(sorted, 99.9)).toBe(999);
    expect(percentile(sorted, 100)).toBe(1000);
  });

  it('rounds ranks up on small sets', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
    expect(percentile([7], 99.9)).toBe(7);
  });

  it('is NaN on no samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('summarizes a uniform distribution recorded out of order', () => {
    const samples = new Samples(16); // forces several growths
    for (const v of shuffledRange(10_000)) samples.add(v / 10); // 0.1 … 1000.0 ms
    expect(samples.length).toBe(10_000);
    const s = summarize(samples);
    expect(s.count).toBe(10_000);
    expect(s.min).toBeCloseTo(0.1, 9);
    expect(s.p50).toBeCloseTo(500, 9);
    expect(s.p90).toBeCloseTo(900, 9);
    expect(s.p99).toBeCloseTo(990, 9);
    expect(s.p999).toBeCloseTo(999, 9);
    expect(s.max).toBeCloseTo(1000, 9);
    expect(s.mean).toBeCloseTo(500.05, 6);
  });

  it('finds a rare tail: 0.5% of requests at 100 ms move p99.9 but not p99', () => {
    const values = [...Array(995).fill(1), ...Array(5).fill(100)];
    const s = summarize(values);
    expect(s.p50).toBe(1);
    expect(s.p99).toBe(1);
    expect(s.p999).toBe(100);
    expect(s.max).toBe(100);
  });

  it('keeps microsecond differences', () => {
    const s = summarize([0.001, 0.002, 0.003]);
    expect(s.p50).toBe(0.002);
  });

  it('is all zeros without samples', () => {
    expect(summarize(new Samples())).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('ignores non-finite samples', () => {
    const samples = new Samples();
    samples.add(Number.NaN);
    samples.add(Number.POSITIVE_INFINITY);
    samples.add(3);
    expect(summarize(samples).count).toBe(1);
  });
});

describe('diffPercentiles', () => {
  it('subtracts per percentile and rounds to µs', () => {
    expect(diffPercentiles({ p50: 51.2345678, p99: 60 }, { p50: 50.0001, p99: 55.5 }, ['p50', 'p99'])).toEqual({ p50: 1.234, p99: 4.5 });
  });
});

describe('histogram', () => {
  it('buckets counts that add up to the number of samples', () => {
    const sorted = Float64Array.from(shuffledRange(1000)).sort();
    const buckets = histogramBuckets(sorted, 10);
    expect(buckets).toHaveLength(10);
    expect(buckets.reduce((a, b) => a + b.count, 0)).toBe(1000);
    expect(buckets[0]!.from).toBe(1);
    expect(buckets.at(-1)!.to).toBe(1000);
    // contiguous edges
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.from).toBe(buckets[i - 1]!.to);
  });

  it('uses log-spaced buckets for long tails, so a 1 ms mode and a 100 ms tail are both visible', () => {
    const values = [...Array(900).fill(1), ...Array(90).fill(10), ...Array(10).fill(100)];
    const buckets = histogramBuckets(values, 2);
    // log edges: 1, 10, 100 → [1,10) holds the 900, [10,100] the rest
    expect(buckets[0]!.to).toBeCloseTo(10, 9);
    expect(buckets.map((b) => b.count)).toEqual([900, 100]);
  });

  it('uses linear buckets for narrow ranges', () => {
    const buckets = histogramBuckets([2, 2.5, 3, 3.5, 4], 2);
    expect(buckets[0]!.to).toBe(3);
    expect(buckets.map((b) => b.count)).toEqual([2, 3]);
  });

  it('puts identical samples in one bucket', () => {
    expect(histogramBuckets([5, 5, 5], 12)).toEqual([{ from: 5, to: 5, count: 3 }]);
  });

  it('renders bars proportional to counts, the fullest bucket at full width', () => {
    const values = [...Array(300).fill(1), ...Array(150).fill(1.9)];
    const lines = renderHistogram(values, { buckets: 2, width: 20 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('█'.repeat(20));
    expect(lines[0]).toMatch(/300\s+66\.7%$/);
    expect(lines[1]).toContain('█'.repeat(10));
    expect(lines[1]).not.toContain('█'.repeat(11));
    expect(lines[1]).toMatch(/150\s+33\.3%$/);
  });

  it('says so when there is nothing to draw', () => {
    expect(renderHistogram([])).toEqual(['(no samples)']);
  });

  it('draws partial cells in eighths', () => {
    expect(bar(1, 4)).toBe('████');
    expect(bar(0.5 / 4, 4)).toBe('▌');
    expect(bar(0, 4)).toBe('');
  });

  it('formats latencies for humans', () => {
    expect(formatMs(0.042)).toBe('42µs');
    expect(formatMs(1.5)).toBe('1.50ms');
    expect(formatMs(512.4)).toBe('512ms');
  });
});
