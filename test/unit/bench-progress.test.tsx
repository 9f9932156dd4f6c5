import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { Progress } from '../../src/ui/bench/Progress.js';
import { PhaseTracker, formatPhaseLine, pendingPhase, type PhaseView } from '../../src/bench/progress-model.js';
import type { LoadLive } from '../../src/bench/load.js';
import { Samples } from '../../src/bench/stats.js';

const running: PhaseView = {
  name: 'gateway',
  state: 'measure',
  elapsedMs: 6000,
  totalMs: 12000,
  warmupMs: 2000,
  requests: 4321,
  errors: 0,
  inflight: 100,
  rps: 987.4,
  p50: 52.346,
  p99: 61.2,
};

describe('bench Progress component', () => {
  it('shows each phase with its state, progress, rate and latency', () => {
    const { lastFrame } = render(
      <Progress view={{ status: 'gateway: 100 concurrent for 10s', phases: [{ ...running, name: 'direct', state: 'done' }, running, pendingPhase('bare', 12000, 2000)] }} />,
    );
    const frame = lastFrame()!;
    expect(frame).toContain('ibex bench');
    expect(frame).toMatch(/direct\s+✓ done/);
    expect(frame).toMatch(/gateway\s+measure\s+▒▒▒███████··········\s+4321 req\s+987\/s\s+p50\s+52\.35ms\s+p99\s+61\.20ms/);
    expect(frame).toMatch(/bare\s+pending\s+·{20}\s*$/m);
    expect(frame).toContain('gateway: 100 concurrent for 10s');
    expect(frame).not.toContain('errors');
  });

  it('shows errors in the row when there are some', () => {
    const { lastFrame } = render(<Progress view={{ status: '', phases: [{ ...running, errors: 17 }] }} />);
    expect(lastFrame()).toContain('17 errors');
  });
});

describe('PhaseTracker', () => {
  it('computes rate and latency over about the last second from live counters', () => {
    let now = 0;
    const latency = new Samples();
    const live: LoadLive = { phase: 'measure', elapsedMs: () => now, totalMs: 10_000, warmupMs: 0, warmupRequests: 0, completed: 0, errors: 0, inflight: 3, latency };
    const t = new PhaseTracker('gateway', live);
    const tickAt = (ms: number) => {
      now = ms;
      return t.tick();
    };
    tickAt(0);
    for (let i = 1; i <= 100; i++) latency.add(i);
    live.completed = 100;
    const first = tickAt(500);
    expect(first.rps).toBe(200);
    expect(first.p50).toBe(50);
    expect(first.p99).toBe(99);
    // ticks every 250 ms; one slow second later only the newest samples are in the window
    for (let ms = 750; ms <= 2500; ms += 250) tickAt(ms);
    for (let i = 0; i < 10; i++) latency.add(1000);
    live.completed = 110;
    const later = tickAt(2750);
    expect(later.p50).toBe(1000);
    expect(later.rps).toBe(10);
    expect(formatPhaseLine(later)).toMatch(/^\[gateway\] measure 2\.8\/10\.0s  requests 110  errors 0  10 req\/s  p50 1000ms  p99 1000ms$/);
  });
});
