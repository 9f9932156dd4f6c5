// The last N propagation delays, for p50/p99 in stats() (Prometheus gets every sample separately).
export interface DelaySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export class DelayRecorder {
  private readonly samples: Float64Array;
  private next = 0;
  private total = 0;

  constructor(capacity = 2048) {
    this.samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.samples[this.next] = Math.max(0, ms);
    this.next = (this.next + 1) % this.samples.length;
    this.total++;
  }

  /** Over the retained samples; count is every sample ever recorded. */
  summary(): DelaySummary {
    const n = Math.min(this.total, this.samples.length);
    if (n === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    return { count: this.total, p50: at(0.5), p99: at(0.99), max: sorted[n - 1]! };
  }
}
