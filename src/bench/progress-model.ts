// What the bench progress display shows, computed from the load generator's live counters. Kept out
// of React so the terminal UI and the plain-line output (not a TTY) show the same numbers, and so the
// numbers are testable without a terminal.
//
// Latency on screen is over roughly the last second (the samples recorded since the previous-but-one
// tick), not the whole phase: cheap to compute on every tick and it shows drift while it happens.
import type { LoadLive, LoadPhase, LoadResult } from './load.js';
import { percentile, summarize } from './stats.js';

export type PhaseState = 'pending' | LoadPhase;

export interface PhaseView {
  name: string;
  state: PhaseState;
  elapsedMs: number;
  totalMs: number;
  warmupMs: number;
  /** measured requests completed so far */
  requests: number;
  errors: number;
  inflight: number;
  /** over the recent window while running; over the whole phase when done */
  rps: number;
  p50: number;
  p99: number;
}

export interface ProgressView {
  status: string;
  phases: PhaseView[];
}

export function pendingPhase(name: string, totalMs: number, warmupMs: number): PhaseView {
  return { name, state: 'pending', elapsedMs: 0, totalMs, warmupMs, requests: 0, errors: 0, inflight: 0, rps: 0, p50: 0, p99: 0 };
}

/** Turns successive reads of one phase's live counters into a PhaseView. */
export class PhaseTracker {
  private marks: { atMs: number; completed: number; sampleIndex: number }[] = [];

  constructor(
    readonly name: string,
    private readonly live: LoadLive,
  ) {
    // A mark at the start, so the very first tick already has a window to compute a rate over.
    this.marks.push({ atMs: live.elapsedMs(), completed: live.completed, sampleIndex: live.latency.length });
  }

  tick(): PhaseView {
    const live = this.live;
    const now = live.elapsedMs();
    const mark = { atMs: now, completed: live.completed, sampleIndex: live.latency.length };
    this.marks.push(mark);
    // The window: from the oldest mark no older than ~1 s.
    while (this.marks.length > 2 && now - this.marks[1]!.atMs >= 1000) this.marks.shift();
    const from = this.marks[0]!;
    const dt = now - from.atMs;
    const recent = Float64Array.from(live.latency.since(from.sampleIndex)).sort();
    return {
      name: this.name,
      state: live.phase,
      elapsedMs: Math.min(now, live.totalMs),
      totalMs: live.totalMs,
      warmupMs: live.warmupMs,
      requests: live.completed,
      errors: live.errors,
      inflight: live.inflight,
      rps: dt > 0 ? ((live.completed - from.completed) * 1000) / dt : 0,
      p50: recent.length ? percentile(recent, 50) : 0,
      p99: recent.length ? percentile(recent, 99) : 0,
    };
  }
}

/** The final view of a finished phase. */
export function donePhase(name: string, result: LoadResult, totalMs: number, warmupMs: number): PhaseView {
  const s = summarize(result.latency);
  return {
    name,
    state: 'done',
    elapsedMs: totalMs,
    totalMs,
    warmupMs,
    requests: result.requests,
    errors: result.errors,
    inflight: 0,
    rps: result.rps,
    p50: s.p50,
    p99: s.p99,
  };
}

/** One plain line per tick, for logs and pipes. */
export function formatPhaseLine(p: PhaseView): string {
  const secs = (ms: number) => (ms / 1000).toFixed(1);
  const lat = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));
  return (
    `[${p.name}] ${p.state} ${secs(p.elapsedMs)}/${secs(p.totalMs)}s` +
    `  requests ${p.requests}  errors ${p.errors}  ${p.rps.toFixed(0)} req/s` +
    `  p50 ${lat(p.p50)}ms  p99 ${lat(p.p99)}ms`
  );
}
