// `ibex mock-upstream`: run the fake provider (src/mock/server.ts; OpenAI-compatible, or the
// Anthropic Messages API with --protocol anthropic) until SIGINT/SIGTERM. Thin: validate flags → startMockUpstream → print one line → wait.

import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { startMockUpstream, type MockOptions, type MockProtocol } from '../src/mock/server.js';
import { MAX_CHUNKS, MAX_DELAY_MS } from '../src/mock/faults.js';

export const DEFAULT_MOCK_PORT = 8789;

export interface MockUpstreamFlags {
  port?: string;
  host?: string;
  latency?: string;
  ttfb?: string;
  chunks?: string;
  chunkInterval?: string;
  failRate?: string;
  failStatus?: string;
  seed?: string;
  protocol?: string;
  apiKey?: string[];
}

const PROTOCOLS: readonly MockProtocol[] = ['openai', 'anthropic'];

function parseNumber(flag: string, raw: string | undefined, opts: { min: number; max: number; integer: boolean }): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const n = Number(text);
  const ok = text !== '' && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && n >= opts.min && n <= opts.max;
  if (!ok) {
    const kind = opts.integer ? 'an integer' : 'a number';
    throw new UsageError(`${flag} must be ${kind} between ${opts.min} and ${opts.max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Flags (strings from commander) → validated MockOptions. Throws UsageError on a bad value. */
export function parseMockUpstreamFlags(flags: MockUpstreamFlags): MockOptions {
  const ms = { min: 0, max: MAX_DELAY_MS, integer: false };
  const host = flags.host ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const protocol = (flags.protocol ?? 'openai').trim();
  if (!PROTOCOLS.includes(protocol as MockProtocol)) {
    throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(flags.protocol)}`);
  }
  const keys = flags.apiKey;
  if (keys?.some((k) => k.trim() === '')) throw new UsageError('--api-key must not be empty');
  const options: MockOptions = {
    host,
    port: parseNumber('--port', flags.port, { min: 0, max: 65535, integer: true }) ?? DEFAULT_MOCK_PORT,
    latencyMs: parseNumber('--latency', flags.latency, ms),
    ttfbMs: parseNumber('--ttfb', flags.ttfb, ms),
    chunks: parseNumber('--chunks', flags.chunks, { min: 1, max: MAX_CHUNKS, integer: true }),
    chunkIntervalMs: parseNumber('--chunk-interval', flags.chunkInterval, ms),
    failRate: parseNumber('--fail-rate', flags.failRate, { min: 0, max: 1, integer: false }),
    failStatus: parseNumber('--fail-status', flags.failStatus, { min: 400, max: 599, integer: true }),
    seed: parseNumber('--seed', flags.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
  };
  // Only set when given, so the default options object stays what it always was.
  if (protocol !== 'openai') options.protocol = protocol as MockProtocol;
  if (keys && keys.length > 0) options.apiKeys = keys;
  return options;
}

export interface RunMockUpstreamIO {
  /** where the "listening" line goes (default process.stdout) */
  out?: { write(line: string): unknown };
  /** stops the mock when aborted, in addition to SIGINT/SIGTERM (for in-process callers) */
  stop?: AbortSignal;
}

/** Starts the mock, prints the listening line, resolves after a stop signal closed it. */
export async function runMockUpstream(options: MockOptions, io: RunMockUpstreamIO = {}): Promise<void> {
  const out = io.out ?? process.stdout;
  let mock;
  try {
    mock = await startMockUpstream(options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${options.port} on ${options.host} is already in use`, 'pick another one with --port N (0 = any free port)');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on host ${options.host}`, 'use an address of this machine, e.g. --host 127.0.0.1');
    throw err;
  }
  // OpenAI mode keeps its historical line (scripts match `listening on (http://…/v1)`).
  out.write(mock.protocol === 'openai' ? `mock upstream listening on ${mock.url}\n` : `mock upstream listening on ${mock.url} (${mock.protocol})\n`);

  // A second Ctrl-C while closing should not turn a clean stop into exit code 130.
  const exitNow = () => process.exit(0);
  await new Promise<void>((resolve) => {
    const stop = (byProcessSignal: boolean) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      io.stop?.removeEventListener('abort', onAbort);
      if (byProcessSignal) process.once('SIGINT', exitNow);
      resolve();
    };
    const onSignal = () => stop(true);
    const onAbort = () => stop(false);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (io.stop?.aborted) onAbort();
    else io.stop?.addEventListener('abort', onAbort);
  });
  await mock.close();
  process.off('SIGINT', exitNow);
}

export function register(program: Command): void {
  program
    .command('mock-upstream')
    .description('run a fake provider (OpenAI-compatible, or Anthropic with --protocol anthropic) that echoes what it receives (for tests, bench and smoke)')
    .option('--protocol <p>', 'API to speak: openai or anthropic', 'openai')
    .option('--port <n>', 'port to listen on (0 = any free port)', String(DEFAULT_MOCK_PORT))
    .option('--host <h>', 'address to listen on', '127.0.0.1')
    .option('--latency <ms>', 'non-streaming: delay before each reply', '0')
    .option('--ttfb <ms>', 'streaming: delay before the first byte', '0')
    .option('--chunks <n>', 'streaming: number of content deltas', '5')
    .option('--chunk-interval <ms>', 'streaming: gap between content deltas', '0')
    .option('--fail-rate <r>', 'fraction (0..1) of model requests (chat, completions, responses, embeddings, moderations, messages) that fail', '0')
    .option('--fail-status <s>', 'HTTP status of injected failures (e.g. 500, 429)', '500')
    .option('--seed <n>', 'seed for --fail-rate sampling, so failures repeat run to run')
    .option('--api-key <key>', 'accept only this API key (repeatable; default: any key)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (flags: MockUpstreamFlags) => {
      const options = parseMockUpstreamFlags(flags);
      await runMockUpstream(options);
      // Everything is closed; if some other handle still holds the loop, still exit 0 as promised.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}
