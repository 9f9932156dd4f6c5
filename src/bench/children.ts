// Child processes of `ibex bench` and `ibex smoke` (mock upstream, gateway, bare proxy): started with
// the same node binary, ready once they print their "listening on URL" line, and always stopped —
// on success, on error, on SIGINT, and as a last resort with SIGKILL when this process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../util/package-root.js';
import { redact } from '../log.js';

export interface ChildSpec {
  /** for messages: "mock upstream", "gateway", … */
  name: string;
  /** script and arguments for `node` */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** the first capture group is the URL the child listens on */
  ready?: RegExp;
  readyTimeoutMs?: number;
}

export interface ManagedChild {
  name: string;
  pid: number;
  url: string;
  /** set once the child has exited */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** resolves when the child has exited */
  exited: Promise<void>;
  /** the last lines the child wrote (stdout and stderr), secrets masked, for error messages */
  outputTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited */
  stop(graceMs?: number): Promise<void>;
}

const DEFAULT_READY = /listening on (http:\/\/\S+)/;
const TAIL_LINES = 30;

/** Every child still running, so the exit hook can kill them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a plain SIGKILL is all that is possible here.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Store settings a user may have exported for their own gateway: a throw-away embedded gateway must not use them. */
const EXTERNAL_STORE_ENV = ['IBEX_CONFIG', 'IBEX_DATABASE_URL', 'IBEX_REDIS_URL', 'IBEX_CLICKHOUSE_URL', 'IBEX_AUTH_URL', 'IBEX_ADMIN_TOKEN', 'IBEX_PORT', 'IBEX_HOST', 'IBEX_UPSTREAM_URL'];

/** The environment of a child gateway on the embedded store in `home`, whatever the caller's environment says. */
export function embeddedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of EXTERNAL_STORE_ENV) delete env[k];
  return { ...env, IBEX_HOME: home, ...extra };
}

/** `node bin/ibex.js` of this package, which runs the built CLI. */
export function ibexBin(): string {
  return join(packageRoot(), 'bin', 'ibex.js');
}

/** A compiled module of this package, e.g. `bench/bare-proxy-main.js` → dist/src/bench/bare-proxy-main.js. */
export function builtModule(relativeToSrc: string): string {
  const beside = fileURLToPath(new URL(`../${relativeToSrc}`, import.meta.url));
  if (existsSync(beside)) return beside;
  // Running from src/ (vitest): the compiled file lives under dist/.
  return join(packageRoot(), 'dist', 'src', relativeToSrc);
}

export async function startChild(spec: ChildSpec): Promise<ManagedChild> {
  installExitHook();
  const proc = spawn(process.execPath, spec.args, {
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const lines: string[] = [];
  let partial = '';
  const ready = spec.ready ?? DEFAULT_READY;
  let onReadyLine: ((url: string) => void) | undefined;

  const onData = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      if (onReadyLine) {
        const m = ready.exec(line);
        if (m) onReadyLine(m[1]!);
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);

  let exitInfo: ManagedChild['exit'] = null;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      running.delete(proc);
      resolve();
    });
  });
  const child: ManagedChild = {
    name: spec.name,
    pid: proc.pid ?? -1,
    url: '',
    get exit() {
      return exitInfo;
    },
    exited,
    outputTail: () => redact([...lines, partial].filter((l) => l.trim() !== '').join('\n')),
    stop: (graceMs = 5_000) => stopProcess(proc, child, graceMs),
  };

  const timeoutMs = spec.readyTimeoutMs ?? 20_000;
  try {
    child.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} did not start within ${timeoutMs} ms`)), timeoutMs);
      onReadyLine = (url) => {
        clearTimeout(timer);
        onReadyLine = undefined;
        resolve(url);
      };
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} could not be started: ${err.message}`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited before it was ready (code ${child.exit?.code ?? child.exit?.signal})`));
      });
    });
  } catch (err) {
    await child.stop(1_000);
    const tail = child.outputTail();
    throw new ChildStartError((err as Error).message, tail);
  }
  return child;
}

export class ChildStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output ? `${message}\n--- its output ---\n${output}` : message);
    this.name = 'ChildStartError';
  }
}

async function stopProcess(proc: ChildProcess, child: ManagedChild, graceMs: number): Promise<void> {
  if (child.exit) return;
  const exited = child.exited;
  proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (!child.exit) proc.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}

/** Stops several children at once, ignoring the ones already gone. */
export async function stopAll(children: (ManagedChild | undefined)[], graceMs?: number): Promise<void> {
  await Promise.all(children.filter((c): c is ManagedChild => c !== undefined).map((c) => c.stop(graceMs).catch(() => {})));
}
