// Starts a real `ibex serve` child process (the built CLI) on an ephemeral port against a mock upstream
// running in the test process, so tests can see what the gateway forwarded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { startMockUpstream, type MockOptions, type MockUpstream } from '../../src/mock/server.js';

export const ROOT = join(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/ibex.js');
export const UPSTREAM_KEY = 'sk-test-upstream-key-0123456789';

export interface TestGateway {
  url: string;
  home: string;
  mock: MockUpstream | null;
  proc: ResultPromise;
  env: Record<string, string>;
  /** Output the gateway wrote so far */
  output(): string;
  /** Runs the CLI against the same IBEX_HOME/env */
  cli(args: string[], opts?: { reject?: boolean }): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined }>;
}

export async function startTestGateway(
  opts: { mock?: MockOptions | false; env?: Record<string, string>; home?: string; args?: string[] } = {},
): Promise<TestGateway> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'ibex-e2e-'));
  const mock = opts.mock === false ? null : await startMockUpstream({ port: 0, ...(opts.mock ?? {}) });
  const env: Record<string, string> = {
    IBEX_HOME: home,
    OPENAI_API_KEY: UPSTREAM_KEY,
    IBEX_POLL_INTERVAL_MS: '200',
    ...(mock ? { IBEX_UPSTREAM_URL: mock.url } : {}),
    ...opts.env,
  };
  let out = '';
  const proc = execa('node', [BIN, 'serve', '--port', '0', ...(opts.args ?? [])], {
    env,
    extendEnv: true,
    reject: false,
    all: true,
    buffer: false,
  });
  proc.all?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /ibex listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.all?.on('data', check);
    void proc.then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway exited early:\n${out}`));
    });
  });

  return {
    url,
    home,
    mock,
    proc,
    env,
    output: () => out,
    async cli(args, o = {}) {
      const r = await execa('node', [BIN, ...args], { env, extendEnv: true, reject: o.reject ?? true });
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 0 };
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      const r = await proc;
      await mock?.close();
      if (!opts.home) rmSync(home, { recursive: true, force: true });
      return { exitCode: r.exitCode };
    },
  };
}

/** Creates an agent (+ optional directive) and a PAT through the CLI; returns the token. */
export async function provision(
  gw: TestGateway,
  agent: string,
  opts: { directive?: string; patArgs?: string[]; agentArgs?: string[] } = {},
): Promise<{ token: string; id: string }> {
  await gw.cli(['agent', 'create', agent, ...(opts.agentArgs ?? [])]);
  if (opts.directive) await gw.cli(['directive', 'set', agent, '--text', opts.directive]);
  const r = await gw.cli(['pat', 'create', '--agent', agent, '--json', ...(opts.patArgs ?? [])]);
  const pat = JSON.parse(r.stdout) as { token: string; id: string };
  return pat;
}

/** The messages the mock upstream received, decoded from its echo reply. */
export function echoed(content: string): { role: string; content: unknown }[] {
  if (!content.startsWith('echo:')) throw new Error(`not an echo: ${content.slice(0, 80)}`);
  return JSON.parse(content.slice(5));
}
