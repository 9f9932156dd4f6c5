// `ibex bench --measure cpu`: CPU time per request of the gateway and of the bare floor, measured in
// the same run over the same fixed number of requests, in rounds whose order alternates, reported as
// the median of the rounds and their ratio. Each measured phase: a warm-up load (not counted), a pause
// for trailing work to finish, the CPU counter of the serving process read, exactly `requests`
// requests sent, a pause for the write-behind flushes they caused, the counter read again.
import { loadavg } from 'node:os';
import { UserError } from '../errors.js';
import { startLoad, type LoadResult, type LoadRun } from './load.js';
import { readCpuMs, readMainThreadCpuMs } from './rss.js';
import { startRig, type PhaseName, type Rig, type RigOptions, type RigTarget } from './rig.js';
import { buildCpuReport, phaseMeasure, roundOrder, type CpuBenchConfig, type CpuBenchReport, type CpuPhaseMeasure, type CpuRound } from './cpu-report.js';
import { BenchAborted, type BenchHooks } from './run.js';

export interface CpuBenchOptions extends CpuBenchConfig, Omit<RigOptions, 'baseline'> {
  /** exit 1 when the median ratio is above this */
  maxRatio: number | null;
}

/** Long enough for the gateway's write-behind (50 ms batches, ClickHouse inserts ~100 ms) to finish what a phase caused. */
const SETTLE_MS = 750;
/** The fixed-count phases are bounded by count, with this as a safety net. */
const PHASE_LIMIT_MS = 30 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCpuBench(opts: CpuBenchOptions, hooks: BenchHooks = {}, signal?: AbortSignal): Promise<CpuBenchReport> {
  const status = hooks.status ?? (() => {});
  const startedAt = new Date();
  const loadavgAtStart = loadavg()[0] ?? 0;
  if (opts.target && opts.target.pid === null) {
    throw new UserError('--measure cpu with --target needs the gateway\'s process id', 'add --target-pid PID (the process must run on this machine)');
  }
  let rig: Rig | undefined;
  let currentRun: LoadRun | undefined;
  const onAbort = () => currentRun?.abort();
  signal?.addEventListener('abort', onAbort);
  const checkAborted = () => {
    if (signal?.aborted) throw new BenchAborted();
  };

  const run = async (t: RigTarget, count: number, phase: PhaseName | null): Promise<LoadResult> => {
    currentRun = startLoad({ target: t.target, concurrency: opts.concurrency, durationMs: PHASE_LIMIT_MS, warmupMs: 0, maxRequests: count });
    if (phase) hooks.phaseStart?.(phase, currentRun);
    const result = await currentRun.done;
    currentRun = undefined;
    checkAborted();
    return result;
  };

  const measure = async (t: RigTarget, round: number): Promise<CpuPhaseMeasure> => {
    status(`round ${round + 1}/${opts.rounds}, ${t.name}: ${opts.warmupRequests} warm-up + ${opts.requests} measured requests, ${opts.concurrency} concurrent`);
    if (opts.warmupRequests > 0) await run(t, opts.warmupRequests, null);
    await sleep(SETTLE_MS);
    const before = t.pid === null ? null : readCpuMs(t.pid);
    const mainBefore = t.pid === null ? null : readMainThreadCpuMs(t.pid);
    const t0 = performance.now();
    const result = await run(t, opts.requests, t.name);
    const wallMs = performance.now() - t0;
    await sleep(SETTLE_MS);
    const after = t.pid === null ? null : readCpuMs(t.pid);
    const mainAfter = t.pid === null ? null : readMainThreadCpuMs(t.pid);
    hooks.phaseEnd?.(t.name, result);
    rig!.checkAlive(t.name);
    if (result.ok === 0) {
      const tail = t.child ? `\n--- ${t.child.name} output ---\n${t.child.outputTail()}` : '';
      throw new UserError(`no request succeeded in the ${t.name} phase (${JSON.stringify(result.errorsByKind)})${tail}`);
    }
    const delta = (a: number | null, b: number | null) => (a !== null && b !== null ? b - a : null);
    return phaseMeasure(result, delta(before, after), wallMs, delta(mainBefore, mainAfter));
  };

  try {
    rig = await startRig({ ...opts, baseline: 'bare' }, status, checkAborted);
    const rounds: Omit<CpuRound, 'ratio'>[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      const order = roundOrder(i, rig.bare !== null);
      const got: Partial<Record<PhaseName, CpuPhaseMeasure>> = {};
      for (const name of order) {
        const t = name === 'direct' ? rig.direct : name === 'gateway' ? rig.gateway : rig.bare!;
        got[name] = await measure(t, i);
      }
      rounds.push({ order, direct: got.direct!, gateway: got.gateway!, bare: got.bare ?? null });
    }
    const config: CpuBenchReport['config'] = {
      requests: opts.requests,
      rounds: opts.rounds,
      warmupRequests: opts.warmupRequests,
      concurrency: opts.concurrency,
      upstreamLatencyMs: opts.upstreamLatencyMs,
      stream: opts.stream,
      chunks: opts.chunks,
      chunkIntervalMs: opts.chunkIntervalMs,
      stores: opts.target ? 'target' : (opts.stores ?? 'embedded'),
      ...(opts.target ? { target: { url: opts.target.url, headerNames: Object.keys(opts.target.headers), pid: opts.target.pid } } : {}),
    };
    return buildCpuReport(config, rounds, { startedAt, loadavgAtStart, maxRatio: opts.maxRatio });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    currentRun?.abort();
    await rig?.close();
  }
}
