// `ibex bench`: latency benchmark of the gateway against the mock upstream (and the bare floor), or with
// `--measure cpu` its CPU time per request against the floor's. Thin: parse flags → runBench
// (src/bench/run.ts) or runCpuBench (src/bench/cpu.ts) with a progress display → print / write the report.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { parseDuration } from '../src/util/duration.js';
import { assertLoopback } from '../src/bench/load.js';
import { parseHeaderFlag, type ExternalTarget, type StoresMode } from '../src/bench/rig.js';

interface BenchFlags {
  concurrency?: string;
  duration: string;
  warmup: string;
  upstreamLatency?: string;
  measure?: string;
  requests: string;
  rounds: string;
  warmupRequests?: string;
  assertCpuRatio?: string;
  rate?: string;
  connections: string;
  stores: string;
  target?: string;
  header: string[];
  targetPid?: string;
  mockPort: string;
  model: string;
  stream?: boolean;
  chunks: string;
  chunkInterval: string;
  baseline?: string;
  json?: string;
  assertP99Overhead?: string;
  histogram?: boolean;
  profile?: string;
}

/** `10s`, `500ms`, `1m`, or a bare number of seconds. */
export function parseDurationFlag(flag: string, value: string, allowZero = false): number {
  if (allowZero && /^\s*0+(\.0*)?\s*(ms|s)?\s*$/.test(value)) return 0;
  const ms = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Math.round(Number(value) * 1000) : parseDuration(value);
  if (ms === null || !(ms > 0)) throw new UsageError(`${flag} must be a duration like 10s, 500ms or 1m, got "${value}"`);
  if (ms > 3_600_000) throw new UsageError(`${flag} must be at most 1h, got "${value}"`);
  return ms;
}

function parseMsFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of milliseconds >= 0, got "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--target`'s URL: http on loopback (the bench never loads someone else's server). */
export function parseTargetFlag(value: string): string {
  try {
    const u = new URL(value);
    assertLoopback(u.href);
    return value;
  } catch (err) {
    throw new UsageError(`--target must be an http:// URL on this machine, got "${value}"`, (err as Error).message);
  }
}

function parseRatioFlag(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number > 0, got "${value}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('latency benchmark: mock upstream direct vs. through an ibex gateway (child processes, loopback only)')
    .option('--concurrency <n>', 'concurrent requests (closed loop; default 100, 50 with --measure cpu)')
    .option('--duration <d>', 'measured time per phase (e.g. 10s)', '10s')
    .option('--warmup <d>', 'unmeasured warm-up before each phase', '2s')
    .option('--upstream-latency <ms>', 'mock upstream latency (non-streaming) or time to first byte (streaming); default 50, 0 with --measure cpu')
    .option('--stream', 'streaming requests (SSE): also measures time to first byte and inter-chunk gaps')
    .option('--chunks <n>', 'streaming: content chunks per response', '5')
    .option('--chunk-interval <ms>', 'streaming: gap between chunks', '10')
    .option('--baseline <name>', 'also measure a floor in the same run: "bare" (fastify + undici pass-through)')
    .option('--json <file>', 'write the full report as JSON to FILE')
    .option('--assert-p99-overhead <ms>', 'exit 1 if the p99 overhead (gateway − direct) is above MS')
    .option('--no-histogram', 'do not print latency histograms')
    .option('--profile <dir>', 'run the gateway under node --cpu-prof and write its .cpuprofile into DIR')
    .option('--measure <what>', '"cpu": CPU time per request of the gateway and the bare floor over a fixed request count, median of --rounds')
    .option('--requests <n>', '--measure cpu: measured requests per phase and round', '20000')
    .option('--rounds <n>', '--measure cpu: rounds (gateway and floor alternate who goes first)', '3')
    .option('--warmup-requests <n>', '--measure cpu: unmeasured requests before each phase, so JIT and caches are warm (default: 2000, at most --requests)')
    .option('--assert-cpu-ratio <x>', '--measure cpu: exit 1 if the median CPU ratio gateway ÷ floor is above X')
    .option('--rate <n>', 'open loop at N requests/s (instead of --concurrency workers); latency counts from each scheduled send')
    .option('--connections <n>', '--rate: keep-alive connections of the load generator', '32')
    .option('--stores <mode>', '"embedded" (a throw-away SQLite store) or "production" (IBEX_DATABASE_URL, IBEX_REDIS_URL, IBEX_CLICKHOUSE_URL)', 'embedded')
    .option('--target <url>', 'measure this running gateway (loopback) instead of starting one; it must use the mock (see --mock-port)')
    .option('--header <k:v>', '--target: a header to send with each request (repeatable), e.g. "Authorization: Bearer …"', collect, [])
    .option('--target-pid <pid>', '--target: its process id, for CPU and RSS readings')
    .option('--mock-port <n>', 'port of the mock upstream (0 = any; fix it to point a --target gateway at http://127.0.0.1:N/v1)', '0')
    .option('--model <name>', 'model name in the requests', 'gpt-4o-mini')
    .action(async (flags: BenchFlags) => {
      const measure = flags.measure;
      if (measure !== undefined && measure !== 'cpu') throw new UsageError(`unknown --measure "${measure}"`, 'the only measure is "cpu"');
      const cpuMode = measure === 'cpu';
      const concurrency = parseIntFlag('--concurrency', flags.concurrency ?? (cpuMode ? '50' : '100'), 1, 10_000)!;
      const durationMs = parseDurationFlag('--duration', flags.duration);
      const warmupMs = parseDurationFlag('--warmup', flags.warmup, true);
      const upstreamLatencyMs = parseMsFlag('--upstream-latency', flags.upstreamLatency ?? (cpuMode ? '0' : '50'))!;
      const chunks = parseIntFlag('--chunks', flags.chunks, 1, 10_000)!;
      const chunkIntervalMs = parseMsFlag('--chunk-interval', flags.chunkInterval)!;
      const assertP99OverheadMs = parseMsFlag('--assert-p99-overhead', flags.assertP99Overhead) ?? null;
      if (flags.baseline !== undefined && flags.baseline !== 'bare') {
        throw new UsageError(`unknown --baseline "${flags.baseline}"`, 'the only baseline is "bare" (a fastify + undici pass-through)');
      }
      const baseline = flags.baseline === 'bare' ? 'bare' : null;
      const stream = flags.stream === true;
      const rate = flags.rate === undefined ? null : parseIntFlag('--rate', flags.rate, 1, 100_000)!;
      const connections = parseIntFlag('--connections', flags.connections, 1, 10_000)!;
      if (flags.stores !== 'embedded' && flags.stores !== 'production') {
        throw new UsageError(`unknown --stores "${flags.stores}"`, 'use "embedded" or "production"');
      }
      const stores: StoresMode = flags.stores;
      let target: ExternalTarget | null = null;
      if (flags.target !== undefined) {
        if (stores === 'production') throw new UsageError('--target and --stores production do not go together', 'the --target gateway runs on whatever stores it was started with');
        const headers: Record<string, string> = {};
        for (const h of flags.header) {
          try {
            const [k, v] = parseHeaderFlag(h);
            headers[k] = v;
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
        }
        target = { url: parseTargetFlag(flags.target), headers, pid: parseIntFlag('--target-pid', flags.targetPid, 1) ?? null };
      } else if (flags.header.length > 0 || flags.targetPid !== undefined) {
        throw new UsageError('--header and --target-pid go with --target');
      }
      const mockPort = parseIntFlag('--mock-port', flags.mockPort, 0, 65_535)!;
      const profileDir = flags.profile ? resolve(flags.profile) : null;
      const rigOptions = { upstreamLatencyMs, stream, chunks, chunkIntervalMs, stores, target, mockPort, model: flags.model, profileDir };

      if (cpuMode) {
        if (rate !== null) throw new UsageError('--rate does not go with --measure cpu', 'CPU per request is measured over a fixed request count in a closed loop');
        const requests = parseIntFlag('--requests', flags.requests, 1, 10_000_000)!;
        const rounds = parseIntFlag('--rounds', flags.rounds, 1, 99)!;
        const warmupRequests = parseIntFlag('--warmup-requests', flags.warmupRequests ?? String(Math.min(2000, requests)), 0, 10_000_000)!;
        const maxRatio = parseRatioFlag('--assert-cpu-ratio', flags.assertCpuRatio);
        const [{ runCpuBench }, { BenchAborted }, { renderCpuReport }] = await Promise.all([import('../src/bench/cpu.js'), import('../src/bench/run.js'), import('../src/bench/cpu-report.js')]);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let report;
        try {
          report = await runCpuBench(
            { ...rigOptions, requests, rounds, warmupRequests, concurrency, maxRatio },
            {
              status: (line) => process.stderr.write(`bench: ${line}\n`),
              phaseEnd: (name, r) => process.stderr.write(`bench: [${name}] done: ${r.requests} requests, ${r.errors} errors\n`),
            },
            abort.signal,
          );
        } catch (err) {
          if (err instanceof BenchAborted) {
            process.stderr.write('bench interrupted: child processes stopped\n');
            process.exit(130);
          }
          throw err;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        process.stdout.write(renderCpuReport(report));
        writeJson(flags.json, report);
        if (flags.profile) process.stderr.write(`gateway CPU profile written to ${profileDir} (node bench/profile-summary.mjs FILE)\n`);
        if (report.assert && !report.assert.passed) {
          throw new UserError(`median CPU ratio ${report.assert.actual ?? 'unknown'} is above --assert-cpu-ratio ${report.assert.maxRatio}`);
        }
        return;
      }

      const [{ runBench, BenchAborted }, { createProgress }, { renderReport }] = await Promise.all([
        import('../src/bench/run.js'),
        import('../src/bench/progress.js'),
        import('../src/bench/report.js'),
      ]);
      const phases = baseline ? (['direct', 'gateway', 'bare'] as const) : (['direct', 'gateway'] as const);
      const progress = await createProgress({ tty: process.stdout.isTTY === true, phases: [...phases], totalMs: durationMs + warmupMs, warmupMs });

      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      let outcome;
      try {
        outcome = await runBench(
          { ...rigOptions, concurrency, durationMs, warmupMs, baseline, assertP99OverheadMs, rate, connections },
          progress.hooks,
          abort.signal,
        );
      } catch (err) {
        progress.stop();
        if (err instanceof BenchAborted) {
          process.stderr.write('bench interrupted: child processes stopped\n');
          process.exit(130);
        }
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
      progress.stop();

      const { report, results } = outcome;
      const histograms =
        flags.histogram === false
          ? []
          : [
              { name: 'direct', sorted: results.direct.latency.sorted() },
              { name: target ? 'gateway' : 'ibex gateway', sorted: results.gateway.latency.sorted() },
            ];
      process.stdout.write(renderReport(report, histograms));
      writeJson(flags.json, report);
      if (flags.profile) process.stderr.write(`gateway CPU profile written to ${resolve(flags.profile)} (open in Chrome DevTools, or: node bench/profile-summary.mjs FILE)\n`);
      if (report.assert && !report.assert.passed) {
        throw new UserError(`p99 overhead ${report.assert.actualMs} ms is above --assert-p99-overhead ${report.assert.p99OverheadMs} ms`);
      }
    });
}

function writeJson(file: string | undefined, report: unknown): void {
  if (!file) return;
  try {
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`);
  }
  process.stderr.write(`report written to ${file}\n`);
}
