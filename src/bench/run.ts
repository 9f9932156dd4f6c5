// `ibex bench`: starts the mock upstream, a gateway on a throw-away embedded store (agent, PAT without
// rate limit, directive) and optionally the bare floor, each in its own child process, then drives the
// same closed-loop load at each in turn — direct → gateway → floor — and builds the report.
//
// Child processes, not in-process servers: the load generator must not share an event loop with what
// it measures, and the gateway must run exactly as `ibex serve` runs for users.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { UserError } from '../errors.js';
import { loadConfig } from '../config.js';
import { openStores } from '../stores/factory.js';
import { createAgent, createPat } from '../ops/identity.js';
import { setDirective } from '../ops/directives.js';
import { builtModule, embeddedEnv, ibexBin, startChild, stopAll, type ManagedChild } from './children.js';
import { startLoad, type LoadResult, type LoadRun, type LoadTarget } from './load.js';
import { readCpuMs, RssSampler } from './rss.js';
import { readEventLoopDelay, resetEventLoopDelay, type EventLoopDelay } from './gateway-metrics.js';
import { buildReport, type BenchConfig, type BenchReport, type PhaseResults } from './report.js';

export type { BenchConfig, BenchReport } from './report.js';

export type PhaseName = 'direct' | 'gateway' | 'bare';

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

export const BENCH_AGENT = 'bench';
export const BENCH_DIRECTIVE = 'You are the ibex benchmark agent. Reply briefly.';
/** Sent upstream by the gateway in place of a real provider key: the mock ignores it. */
const BENCH_UPSTREAM_KEY = 'ibex-bench-mock-key';
/** Settling time between phases, so one phase's trailing work (write-behind flushes) does not land in the next. */
const PHASE_GAP_MS = 1_000;

/** Creates the bench agent, its directive and a PAT without rate limit in a fresh embedded store. */
export async function prepareGatewayHome(home: string): Promise<{ token: string }> {
  const stores = await openStores(loadConfig({}, { IBEX_HOME: home }));
  try {
    await stores.migrate();
    await createAgent(stores, { name: BENCH_AGENT, description: 'ibex bench (throw-away)', rpm: null });
    await setDirective(stores, BENCH_AGENT, BENCH_DIRECTIVE);
    const { token } = await createPat(stores, { agents: [BENCH_AGENT], name: 'bench', rpm: null });
    return { token };
  } finally {
    await stores.close();
  }
}

export function chatBody(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Benchmark request: say hello.' }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

function target(url: string, bearer: string, stream: boolean): LoadTarget {
  return {
    url,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: chatBody(stream),
    stream,
  };
}

/** One non-streaming request before the load, so a broken setup fails in a second, not after the whole phase. */
async function preflight(name: string, t: LoadTarget, child: ManagedChild | undefined, expectInReply?: string): Promise<void> {
  let status = 0;
  let text = '';
  try {
    const res = await request(t.url, { method: 'POST', headers: t.headers, body: chatBody(false), headersTimeout: 30_000, bodyTimeout: 30_000 });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    text = (err as Error).message;
  }
  const tail = child ? `\n--- ${child.name} output ---\n${child.outputTail()}` : '';
  if (status !== 200) {
    throw new UserError(`${name}: a first request failed (${status || 'no response'}): ${text.slice(0, 300)}${tail}`, 'run `npm run build` if the gateway code changed; the output above says why it failed');
  }
  if (expectInReply && !text.includes(expectInReply)) {
    throw new UserError(`${name}: the reply does not show the directive upstream, so the full pipeline is not being measured${tail}`);
  }
}

/**
 * Worker starts are spread over one upstream response time (within the warm-up), so the closed loop
 * does not keep all workers in lockstep against the mock's constant latency (see LoadOptions.rampUpMs).
 */
export function rampUpMs(config: BenchConfig): number {
  const cycle = config.upstreamLatencyMs + (config.stream ? (config.chunks - 1) * config.chunkIntervalMs : 0);
  return Math.min(config.warmupMs, cycle);
}

export async function runBench(config: BenchConfig, hooks: BenchHooks = {}, signal?: AbortSignal): Promise<BenchOutcome> {
  const status = hooks.status ?? (() => {});
  const startedAt = new Date();
  const loadavgAtStart = loadavg()[0] ?? 0;
  const home = mkdtempSync(join(tmpdir(), 'ibex-bench-'));
  let mock: ManagedChild | undefined;
  let gateway: ManagedChild | undefined;
  let bare: ManagedChild | undefined;
  let rss: RssSampler | undefined;
  let currentRun: LoadRun | undefined;
  const onAbort = () => currentRun?.abort();
  signal?.addEventListener('abort', onAbort);
  const checkAborted = () => {
    if (signal?.aborted) throw new BenchAborted();
  };

  try {
    const latency = String(config.upstreamLatencyMs);
    status(`starting the mock upstream (latency ${latency} ms)`);
    mock = await startChild({
      name: 'mock upstream',
      args: [ibexBin(), 'mock-upstream', '--port', '0', '--latency', latency, '--ttfb', latency, '--chunks', String(config.chunks), '--chunk-interval', String(config.chunkIntervalMs)],
    });
    checkAborted();

    status('preparing the gateway store (agent, directive, PAT)');
    const { token } = await prepareGatewayHome(home);
    checkAborted();

    status('starting the gateway');
    // --cpu-prof writes the profile when the gateway exits, i.e. after the graceful stop below.
    const profileArgs = config.profileDir ? ['--cpu-prof', '--cpu-prof-dir', config.profileDir] : [];
    gateway = await startChild({
      name: 'gateway',
      args: [...profileArgs, ibexBin(), 'serve', '--port', '0', '--host', '127.0.0.1'],
      env: embeddedEnv(home, { IBEX_UPSTREAM_URL: mock.url, OPENAI_API_KEY: BENCH_UPSTREAM_KEY }),
      ready: /ibex listening on (http:\/\/\S+)/,
    });
    rss = new RssSampler(gateway.pid);
    checkAborted();

    if (config.baseline === 'bare') {
      status('starting the bare floor proxy');
      bare = await startChild({ name: 'bare proxy', args: [builtModule('bench/bare-proxy-main.js'), '--upstream', mock.url] });
      checkAborted();
    }

    const targets: { name: PhaseName; target: LoadTarget; child: ManagedChild; expect?: string }[] = [
      { name: 'direct', target: target(`${mock.url}/chat/completions`, 'direct', config.stream), child: mock },
      { name: 'gateway', target: target(`${gateway.url}/v1/chat/completions`, token, config.stream), child: gateway, expect: BENCH_DIRECTIVE },
    ];
    if (bare) targets.push({ name: 'bare', target: target(`${bare.url}/v1/chat/completions`, 'bare', config.stream), child: bare });

    status('checking every target answers');
    for (const t of targets) await preflight(t.name, t.target, t.child, t.expect);

    const results: Partial<Record<PhaseName, LoadResult>> = {};
    const cpuMsPerRequest: Partial<Record<PhaseName, number | null>> = {};
    const clientCpuMsPerRequest: Partial<Record<PhaseName, number>> = {};
    let eventLoopDelay: EventLoopDelay | null = null;
    for (const [i, t] of targets.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, PHASE_GAP_MS));
      checkAborted();
      status(`${t.name}: ${config.concurrency} concurrent for ${config.durationMs / 1000}s after ${config.warmupMs / 1000}s warm-up`);
      if (t.name === 'gateway') await resetEventLoopDelay(gateway.url);
      const cpuBefore = readCpuMs(t.child.pid);
      const clientBefore = process.cpuUsage();
      currentRun = startLoad({
        target: t.target,
        concurrency: config.concurrency,
        durationMs: config.durationMs,
        warmupMs: config.warmupMs,
        rampUpMs: rampUpMs(config),
      });
      hooks.phaseStart?.(t.name, currentRun);
      const result = await currentRun.done;
      currentRun = undefined;
      // CPU the server process spent per request (warm-up included): what a request costs, independent of
      // how much CPU other processes on a shared machine left it.
      const cpuAfter = readCpuMs(t.child.pid);
      const served = result.requests + result.warmupRequests;
      const client = process.cpuUsage(clientBefore);
      // The load generator's own share: on a small shared machine it competes with what it measures.
      if (served > 0) clientCpuMsPerRequest[t.name] = (client.user + client.system) / 1000 / served;
      cpuMsPerRequest[t.name] = cpuBefore !== null && cpuAfter !== null && served > 0 ? (cpuAfter - cpuBefore) / served : null;
      if (t.name === 'gateway') eventLoopDelay = await readEventLoopDelay(gateway.url);
      checkAborted();
      hooks.phaseEnd?.(t.name, result);
      for (const c of [mock, gateway, bare]) {
        if (c?.exit) throw new UserError(`${c.name} exited during the ${t.name} phase (code ${c.exit.code ?? c.exit.signal})\n--- its output ---\n${c.outputTail()}`);
      }
      if (result.ok === 0) {
        throw new UserError(`no request succeeded in the ${t.name} phase (${JSON.stringify(result.errorsByKind)})\n--- ${t.child.name} output ---\n${t.child.outputTail()}`);
      }
      results[t.name] = result;
    }

    const phaseResults: PhaseResults = { direct: results.direct!, gateway: results.gateway! };
    if (results.bare) phaseResults.baseline = results.bare;
    const report = buildReport(config, phaseResults, { rampUpMs: rampUpMs(config), rssPeakMB: rss.peakMB(), startedAt, loadavgAtStart, cpuMsPerRequest, clientCpuMsPerRequest, eventLoopDelay });
    return { report, results: phaseResults };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    currentRun?.abort();
    rss?.stop();
    status('stopping child processes');
    await stopAll([bare, gateway, mock]);
    rmSync(home, { recursive: true, force: true });
  }
}
