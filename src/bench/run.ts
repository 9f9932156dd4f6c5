// `ibex bench`: starts the mock upstream, the gateway under test (src/bench/rig.ts) and optionally the
// bare floor, each in its own child process, then drives the same load at each in turn — direct →
// gateway → floor — and builds the report. The load is a closed loop (`--concurrency` workers) or, with
// `--rate N`, an open loop at a fixed rate (src/bench/open-load.ts).
//
// Child processes, not in-process servers: the load generator must not share an event loop with what
// it measures, and the gateway must run exactly as `ibex serve` runs for users.
import { loadavg } from 'node:os';
import { UserError } from '../errors.js';
import { startLoad, type LoadResult, type LoadRun } from './load.js';
import { startOpenLoad } from './open-load.js';
import { readCpuMs, RssSampler } from './rss.js';
import { readEventLoopDelay, resetEventLoopDelay, type EventLoopDelay } from './gateway-metrics.js';
import { buildReport, type BenchConfig, type BenchReport, type PhaseResults } from './report.js';
import { startRig, type PhaseName, type Rig, type RigTarget } from './rig.js';

export type { BenchConfig, BenchReport } from './report.js';
export { BENCH_AGENT, BENCH_DIRECTIVE, chatBody, prepareGatewayHome, type PhaseName } from './rig.js';

export interface BenchHooks {
  /** a one-line status: "starting the gateway", … */
  status?(line: string): void;
  phaseStart?(name: PhaseName, run: LoadRun): void;
  phaseEnd?(name: PhaseName, result: LoadResult): void;
}

export interface BenchOutcome {
  report: BenchReport;
  results: PhaseResults;
}

export class BenchAborted extends Error {
  constructor() {
    super('bench interrupted');
    this.name = 'BenchAborted';
  }
}

/** Settling time between phases, so one phase's trailing work (write-behind flushes) does not land in the next. */
const PHASE_GAP_MS = 1_000;

/**
 * Worker starts are spread over one upstream response time (within the warm-up), so the closed loop
 * does not keep all workers in lockstep against the mock's constant latency (see LoadOptions.rampUpMs).
 */
export function rampUpMs(config: BenchConfig): number {
  const cycle = config.upstreamLatencyMs + (config.stream ? (config.chunks - 1) * config.chunkIntervalMs : 0);
  return Math.min(config.warmupMs, cycle);
}

function startPhaseLoad(config: BenchConfig, t: RigTarget): LoadRun {
  if (config.rate) {
    return startOpenLoad({ target: t.target, rate: config.rate, connections: config.connections, durationMs: config.durationMs, warmupMs: config.warmupMs });
  }
  return startLoad({ target: t.target, concurrency: config.concurrency, durationMs: config.durationMs, warmupMs: config.warmupMs, rampUpMs: rampUpMs(config) });
}

export async function runBench(config: BenchConfig, hooks: BenchHooks = {}, signal?: AbortSignal): Promise<BenchOutcome> {
  const status = hooks.status ?? (() => {});
  const startedAt = new Date();
  const loadavgAtStart = loadavg()[0] ?? 0;
  let rig: Rig | undefined;
  let rss: RssSampler | undefined;
  let currentRun: LoadRun | undefined;
  const onAbort = () => currentRun?.abort();
  signal?.addEventListener('abort', onAbort);
  const checkAborted = () => {
    if (signal?.aborted) throw new BenchAborted();
  };

  try {
    rig = await startRig(config, status, checkAborted);
    if (rig.gateway.pid !== null) rss = new RssSampler(rig.gateway.pid);
    const targets = [rig.direct, rig.gateway, ...(rig.bare ? [rig.bare] : [])];
    const load = config.rate ? `${config.rate} req/s on ${config.connections} connections` : `${config.concurrency} concurrent`;

    const results: Partial<Record<PhaseName, LoadResult>> = {};
    const cpuMsPerRequest: Partial<Record<PhaseName, number | null>> = {};
    const clientCpuMsPerRequest: Partial<Record<PhaseName, number>> = {};
    let eventLoopDelay: EventLoopDelay | null = null;
    for (const [i, t] of targets.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, PHASE_GAP_MS));
      checkAborted();
      status(`${t.name}: ${load} for ${config.durationMs / 1000}s after ${config.warmupMs / 1000}s warm-up`);
      const readsMetrics = t.name === 'gateway' && rig.gatewayIsChild;
      if (readsMetrics) await resetEventLoopDelay(t.baseUrl);
      const cpuBefore = t.pid === null ? null : readCpuMs(t.pid);
      const clientBefore = process.cpuUsage();
      currentRun = startPhaseLoad(config, t);
      hooks.phaseStart?.(t.name, currentRun);
      const result = await currentRun.done;
      currentRun = undefined;
      // CPU the server process spent per request (warm-up included): what a request costs, independent of
      // how much CPU other processes on a shared machine left it.
      const cpuAfter = t.pid === null ? null : readCpuMs(t.pid);
      const served = result.requests + result.warmupRequests;
      const client = process.cpuUsage(clientBefore);
      // The load generator's own share: on a small shared machine it competes with what it measures.
      if (served > 0) clientCpuMsPerRequest[t.name] = (client.user + client.system) / 1000 / served;
      cpuMsPerRequest[t.name] = cpuBefore !== null && cpuAfter !== null && served > 0 ? (cpuAfter - cpuBefore) / served : null;
      if (readsMetrics) eventLoopDelay = await readEventLoopDelay(t.baseUrl);
      checkAborted();
      hooks.phaseEnd?.(t.name, result);
      rig.checkAlive(t.name);
      if (result.ok === 0) {
        const tail = t.child ? `\n--- ${t.child.name} output ---\n${t.child.outputTail()}` : '';
        throw new UserError(`no request succeeded in the ${t.name} phase (${JSON.stringify(result.errorsByKind)})${tail}`);
      }
      results[t.name] = result;
    }

    const phaseResults: PhaseResults = { direct: results.direct!, gateway: results.gateway! };
    if (results.bare) phaseResults.baseline = results.bare;
    const report = buildReport(config, phaseResults, {
      rampUpMs: config.rate ? 0 : rampUpMs(config),
      rssPeakMB: rss?.peakMB() ?? null,
      startedAt,
      loadavgAtStart,
      cpuMsPerRequest,
      clientCpuMsPerRequest,
      eventLoopDelay,
    });
    return { report, results: phaseResults };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    currentRun?.abort();
    rss?.stop();
    await rig?.close();
  }
}
