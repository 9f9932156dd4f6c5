// State of the tail screen, kept outside React so that taking an event costs an array push and
// rendering (throttled) reads a consistent snapshot. Pure logic: no Ink, no timers.
import type { ConnectionStatus } from '../../tail/client.js';
import { pruneSamples, STATS_WINDOW_MS, toSample, windowStats, type Sample, type WindowStats } from '../../tail/stats.js';
import type { Trace } from '../../stores/ports.js';

/** Recent traces kept for the table: more than any terminal shows, bounded whatever the rate. */
const MAX_RECENT = 1000;

export class TailModel {
  /** oldest first */
  private recent: Trace[] = [];
  private readonly samples: Sample[] = [];
  private readonly agentsSeen = new Set<string>();
  private frozen: Trace[] | null = null;
  /** USD since the tail started, per agent ('' for none): the header's running total */
  private readonly costs = new Map<string, number>();

  status: ConnectionStatus = { state: 'connecting' };
  filter: string | null;
  received = 0;
  newWhilePaused = 0;
  droppedByServer = 0;

  constructor(
    readonly startedAt: number,
    filter: string | null = null,
  ) {
    this.filter = filter;
    if (filter) this.agentsSeen.add(filter);
  }

  get paused(): boolean {
    return this.frozen !== null;
  }

  add(trace: Trace, now: number): void {
    this.received++;
    this.recent.push(trace);
    if (this.recent.length > MAX_RECENT * 2) this.recent = this.recent.slice(-MAX_RECENT);
    this.samples.push(toSample(trace, now));
    // Prune as we go so a long-running tail at high rate stays bounded to one window of samples.
    if (this.samples.length % 256 === 0) pruneSamples(this.samples, now);
    if (trace.agent) this.agentsSeen.add(trace.agent);
    if (typeof trace.costUsd === 'number' && Number.isFinite(trace.costUsd)) {
      const key = trace.agent ?? '';
      this.costs.set(key, (this.costs.get(key) ?? 0) + trace.costUsd);
    }
    if (this.frozen) this.newWhilePaused++;
  }

  togglePause(): void {
    if (this.frozen) {
      this.frozen = null;
      this.newWhilePaused = 0;
    } else {
      this.frozen = this.recent.slice(-MAX_RECENT);
    }
  }

  /** Agents in the order first seen. */
  agents(): string[] {
    return [...this.agentsSeen];
  }

  /** none → first agent → … → last agent → none */
  cycleFilter(): void {
    const agents = this.agents();
    if (agents.length === 0) return;
    const i = this.filter === null ? -1 : agents.indexOf(this.filter);
    this.filter = i + 1 < agents.length ? agents[i + 1]! : null;
  }

  setFilter(agent: string | null): void {
    this.filter = agent && agent.trim() !== '' ? agent.trim() : null;
  }

  /** Newest first, filtered, at most `limit`; the frozen snapshot while paused. */
  rows(limit: number): Trace[] {
    const source = this.frozen ?? this.recent;
    const out: Trace[] = [];
    for (let i = source.length - 1; i >= 0 && out.length < limit; i--) {
      const t = source[i]!;
      if (this.filter === null || t.agent === this.filter) out.push(t);
    }
    return out;
  }

  /** USD of the requests received since the tail started (of the filtered agent when one is set). */
  costTotal(): number {
    if (this.filter !== null) return this.costs.get(this.filter) ?? 0;
    let total = 0;
    for (const v of this.costs.values()) total += v;
    return total;
  }

  stats(now: number): WindowStats {
    pruneSamples(this.samples, now, STATS_WINDOW_MS);
    return windowStats(this.samples, now, { since: this.startedAt, agent: this.filter });
  }
}
