// Counts requests in flight so shutdown can wait for them (bounded by the drain timeout).
export class InflightTracker {
  private count = 0;
  private waiters: (() => void)[] = [];

  add(p: Promise<unknown>): void {
    this.count++;
    const done = () => {
      if (--this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
    p.then(done, done);
  }

  get size(): number {
    return this.count;
  }

  /** Resolves true when nothing is in flight, false if the timeout came first. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
