// Rate-limited logging for conditions that repeat at request rate (a sink down, items dropped):
// the first occurrence is logged at once, then at most one line per interval, carrying how many
// occurrences it summarizes, so the log says how bad it is without flooding.

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, msg: string) => void;

export class ThrottledLog {
  private lastAt = -Infinity;
  private suppressed = 0;
  private suppressedUnits = 0;

  constructor(
    private readonly log: LogFn,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records an occurrence worth `units` (e.g. items dropped). `message(units)` builds the line
   * from the total since the last one logged.
   */
  hit(level: LogLevel, units: number, message: (units: number, occurrences: number) => string): void {
    this.suppressed++;
    this.suppressedUnits += units;
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) return;
    this.emit(level, message);
    this.lastAt = t;
  }

  /** Logs whatever was suppressed since the last line (e.g. at close), if anything. */
  drain(level: LogLevel, message: (units: number, occurrences: number) => string): void {
    if (this.suppressed > 0) this.emit(level, message);
  }

  /** Starts over: the next occurrence is logged at once (e.g. after the sink recovered). */
  reset(): void {
    this.lastAt = -Infinity;
    this.suppressed = 0;
    this.suppressedUnits = 0;
  }

  private emit(level: LogLevel, message: (units: number, occurrences: number) => string): void {
    const line = message(this.suppressedUnits, this.suppressed);
    this.suppressed = 0;
    this.suppressedUnits = 0;
    try {
      this.log(level, line);
    } catch {
      // A broken logger must not break the queue.
    }
  }
}
