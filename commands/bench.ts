// `ibex bench`: latency benchmark of the gateway against the mock upstream (and the bare floor).
// Thin: parse flags → runBench (src/bench/run.ts) with a progress display → print / write the report.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { parseDuration } from '../src/util/duration.js';

interface BenchFlags {
  concurrency: string;
  duration: string;
  warmup: string;
  upstreamLatency: string;
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

export function register(program: Command): void {
  program
    .command('bench')
    .description('latency benchmark: mock upstream direct vs. through an ibex gateway (child processes, loopback only)')
    .option('--concurrency <n>', 'concurrent requests (closed loop)', '100')
    .option('--duration <d>', 'measured time per phase (e.g. 10s)', '10s')
    .option('--warmup <d>', 'unmeasured warm-up before each phase', '2s')
    .option('--upstream-latency <ms>', 'mock upstream latency (non-streaming) or time to first byte (streaming)', '50')
    .option('--stream', 'streaming requests (SSE): also measures time to first byte and inter-chunk gaps')
    .option('--chunks <n>', 'streaming: content chunks per response', '5')
    .option('--chunk-interval <ms>', 'streaming: gap between chunks', '10')
    .option('--baseline <name>', 'also measure a floor in the same run: "bare" (fastify + undici pass-through)')
    .option('--json <file>', 'write the full report as JSON to FILE')
    .option('--assert-p99-overhead <ms>', 'exit 1 if the p99 overhead (gateway − direct) is above MS')
    .option('--no-histogram', 'do not print latency histograms')
    .option('--profile <dir>', 'run the gateway under node --cpu-prof and write its .cpuprofile into DIR')
    .action(async (flags: BenchFlags) => {
      const concurrency = parseIntFlag('--concurrency', flags.concurrency, 1, 10_000)!;
      const durationMs = parseDurationFlag('--duration', flags.duration);
      const warmupMs = parseDurationFlag('--warmup', flags.warmup, true);
      const upstreamLatencyMs = parseMsFlag('--upstream-latency', flags.upstreamLatency)!;
      const chunks = parseIntFlag('--chunks', flags.chunks, 1, 10_000)!;
      const chunkIntervalMs = parseMsFlag('--chunk-interval', flags.chunkInterval)!;
      const assertP99OverheadMs = parseMsFlag('--assert-p99-overhead', flags.assertP99Overhead) ?? null;
      if (flags.baseline !== undefined && flags.baseline !== 'bare') {
        throw new UsageError(`unknown --baseline "${flags.baseline}"`, 'the only baseline is "bare" (a fastify + undici pass-through)');
      }
      const baseline = flags.baseline === 'bare' ? 'bare' : null;
      const stream = flags.stream === true;

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
          { concurrency, durationMs, warmupMs, upstreamLatencyMs, stream, chunks, chunkIntervalMs, baseline, assertP99OverheadMs, profileDir: flags.profile ? resolve(flags.profile) : null },
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
              { name: 'ibex gateway', sorted: results.gateway.latency.sorted() },
            ];
      process.stdout.write(renderReport(report, histograms));
      if (flags.json) {
        try {
          writeFileSync(flags.json, JSON.stringify(report, null, 2) + '\n');
        } catch (err) {
          throw new UserError(`cannot write ${flags.json}: ${(err as Error).message}`);
        }
        process.stderr.write(`report written to ${flags.json}\n`);
      }
      if (flags.profile) process.stderr.write(`gateway CPU profile written to ${resolve(flags.profile)} (open in Chrome DevTools, or: node bench/profile-summary.mjs FILE)\n`);
      if (report.assert && !report.assert.passed) {
        throw new UserError(`p99 overhead ${report.assert.actualMs} ms is above --assert-p99-overhead ${report.assert.p99OverheadMs} ms`);
      }
    });
}
