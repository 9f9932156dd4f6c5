// Latency statistics for `ibex bench`: exact percentiles from every recorded sample, and an ASCII
// histogram for the terminal.
//
// Why sorted arrays and not an HDR histogram: a bench run is bounded in time (a 10 s phase at a few
// thousand requests/s is tens of thousands of samples, 8 bytes each), so keeping every sample is cheap
// and the percentiles are exact, with no bucket-precision argument to have when comparing ibex with
// the bare floor at sub-millisecond differences. Samples are milliseconds as doubles, measured from
// `process.hrtime.bigint()`, so the resolution is well below a microsecond.

/** The percentiles every report carries (ms). `p999` is p99.9. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A growable buffer of samples (ms). Appending is O(1) amortised and allocation-free between growths. */
export class Samples {
  private buf: Float64Array;
  private n = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Float64Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.n;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = value;
  }

  /** The samples in recording order (a view: do not keep it across `add`). */
  values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }

  /** A sorted copy (ascending). */
  sorted(): Float64Array {
    return Float64Array.from(this.values()).sort();
  }

  /** Samples recorded from index `from` on (for sliding windows in the progress display). */
  since(from: number): Float64Array {
    return this.buf.subarray(Math.min(from, this.n), this.n);
  }
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at least p% of the samples
 * at or below it. p in (0, 100]; NaN for an empty array.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(p > 0)) return sorted[0]!;
  if (p >= 100) return sorted[n - 1]!;
  // The epsilon keeps e.g. 99.9% of 1000 at rank 999 despite 0.999 * 1000 = 998.9999999999999.
  const rank = Math.ceil((p / 100) * n - 1e-9);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

/** Summary of samples; every field is 0 when there are none (so reports stay valid JSON numbers). */
export function summarize(input: Samples | ArrayLike<number>): LatencySummary {
  const sorted = input instanceof Samples ? input.sorted() : Float64Array.from(input as ArrayLike<number>).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    min: sorted[0]!,
    mean: sum / n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[n - 1]!,
  };
}

/** Rounds to µs, the resolution reports are worth reading at. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** `a − b` for each named percentile, rounded to µs. Percentiles of two unpaired runs, not of paired differences. */
export function diffPercentiles<K extends string>(a: Record<K, number>, b: Record<K, number>, keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = roundMs(a[k] - b[k]);
  return out;
}

/** Picks some fields of a summary, rounded to µs (the JSON report's shape). */
export function pick<K extends keyof LatencySummary>(s: LatencySummary, keys: readonly K[]): Pick<LatencySummary, K> {
  const out = {} as Pick<LatencySummary, K>;
  for (const k of keys) out[k] = roundMs(s[k]) as LatencySummary[K];
  return out;
}

// ---------- ASCII histogram ----------

export interface HistogramBucket {
  /** inclusive lower edge, ms */
  from: number;
  /** exclusive upper edge, ms (inclusive for the last bucket) */
  to: number;
  count: number;
}

/**
 * Buckets an ascending array into `buckets` bins between its min and max. Log-spaced when the values
 * span more than a factor of 4 (latency distributions have long right tails, so linear bins would put
 * almost everything in the first one), linear otherwise. Counts always add up to the number of samples.
 */
export function histogramBuckets(sorted: ArrayLike<number>, buckets = 12): HistogramBucket[] {
  const n = sorted.length;
  if (n === 0) return [];
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  if (min === max) return [{ from: min, to: max, count: n }];
  const bins = Math.max(1, Math.floor(buckets));
  const useLog = min > 0 && max / min > 4;
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const t = i / bins;
    edges.push(useLog ? min * Math.pow(max / min, t) : min + (max - min) * t);
  }
  edges[bins] = max;
  const out: HistogramBucket[] = [];
  let start = 0;
  for (let i = 0; i < bins; i++) {
    const last = i === bins - 1;
    const end = last ? n : lowerBound(sorted, edges[i + 1]!, start);
    out.push({ from: edges[i]!, to: edges[i + 1]!, count: end - start });
    start = end;
  }
  return out;
}

/** First index in [from, n) whose value is >= x. */
function lowerBound(sorted: ArrayLike<number>, x: number, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `fraction` × `width` cells, drawn to an eighth of a cell. */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.max(0, Math.min(1, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  return '█'.repeat(full) + EIGHTHS[eighths % 8]!;
}

/** Formats a latency for humans: µs below 1 ms, ms with 2 decimals below 100, whole ms above. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const abs = Math.abs(ms);
  if (abs < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (abs < 100) return `${ms.toFixed(2)}ms`;
  return `${ms.toFixed(0)}ms`;
}

/**
 * The histogram as terminal lines:
 * `   0.52ms –    0.71ms │██████████▍            1203  12.0%`
 */
export function renderHistogram(sorted: ArrayLike<number>, opts: { buckets?: number; width?: number } = {}): string[] {
  const buckets = histogramBuckets(sorted, opts.buckets ?? 12);
  if (buckets.length === 0) return ['(no samples)'];
  const width = opts.width ?? 40;
  const total = sorted.length;
  const peak = Math.max(...buckets.map((b) => b.count));
  const countWidth = String(peak).length;
  return buckets.map((b) => {
    const range = `${formatMs(b.from).padStart(8)} – ${formatMs(b.to).padStart(8)}`;
    const pct = ((100 * b.count) / total).toFixed(1).padStart(5);
    return `${range} │${bar(b.count / peak, width).padEnd(width)} ${String(b.count).padStart(countWidth)} ${pct}%`;
  });
}
