// What `ibex bench` measures, started and stopped in one place for every mode (latency, --rate,
// --measure cpu): the mock upstream, the gateway under test — a child `ibex serve` on a throw-away
// embedded store, the same on the production stores (--stores production), or an existing gateway
// (--target URL) — and optionally the bare floor. Each target comes with the request to send it.
// The bench agent has a directive and a (never reached) rate limit, so every stage of the pipeline runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { UserError } from '../errors.js';
import { loadConfig } from '../config.js';
import { openStores } from '../stores/factory.js';
import { createAgent, createPat } from '../ops/identity.js';
import { setDirective } from '../ops/directives.js';
import { builtModule, embeddedEnv, ibexBin, startChild, stopAll, type ManagedChild } from './children.js';
import { BENCH_AGENT_RPM, prepareProductionStores, productionStoreEnv } from './production.js';
import type { LoadTarget } from './load.js';

export const BENCH_AGENT = 'bench';
export const BENCH_DIRECTIVE = 'You are the ibex benchmark agent. Reply briefly.';
/** Sent upstream by the gateway in place of a real provider key: the mock ignores it. */
const BENCH_UPSTREAM_KEY = 'ibex-bench-mock-key';

export type PhaseName = 'direct' | 'gateway' | 'bare';
export type StoresMode = 'embedded' | 'production';

export interface RigOptions {
  upstreamLatencyMs: number;
  stream: boolean;
  chunks: number;
  chunkIntervalMs: number;
  baseline: 'bare' | null;
  stores?: StoresMode;
  /** an existing gateway instead of a child one */
  target?: ExternalTarget | null;
  /** port for the mock upstream (0 = any): a --target gateway must be configured to use it */
  mockPort?: number;
  profileDir?: string | null;
  model?: string;
}

export interface ExternalTarget {
  /** base URL (http://host:port or …/v1) or the full chat completions URL */
  url: string;
  headers: Record<string, string>;
  /** its process id, when known, for CPU and RSS readings */
  pid: number | null;
}

export interface RigTarget {
  name: PhaseName;
  target: LoadTarget;
  /** the process serving it; null for a --target gateway without --target-pid */
  pid: number | null;
  /** for error messages */
  child?: ManagedChild;
  /** text the reply must contain (the directive reached the upstream) */
  expect?: string;
  /** base URL, for /metrics */
  baseUrl: string;
}

export interface Rig {
  mock: ManagedChild;
  direct: RigTarget;
  gateway: RigTarget;
  bare: RigTarget | null;
  /** whether the gateway is an ibex child of this run (it has /metrics and Server-Timing) */
  gatewayIsChild: boolean;
  /** throws a UserError if a child process has exited */
  checkAlive(phase: string): void;
  close(): Promise<void>;
}

/** Creates the bench agent, its directive and a PAT without rate limit in a fresh embedded store. */
export async function prepareGatewayHome(home: string): Promise<{ token: string }> {
  const stores = await openStores(loadConfig({}, { IBEX_HOME: home }));
  try {
    await stores.migrate();
    await createAgent(stores, { name: BENCH_AGENT, description: 'ibex bench (throw-away)', rpm: BENCH_AGENT_RPM });
    await setDirective(stores, BENCH_AGENT, BENCH_DIRECTIVE);
    const { token } = await createPat(stores, { agents: [BENCH_AGENT], name: 'bench', rpm: null });
    return { token };
  } finally {
    await stores.close();
  }
}

export function chatBody(stream: boolean, model = 'gpt-4o-mini'): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Benchmark request: say hello.' }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** The chat completions URL of a gateway given as a base URL (`http://h:p`, `…/v1`) or in full. */
export function chatCompletionsUrl(base: string): string {
  const u = base.replace(/\/+$/, '');
  if (/\/chat\/completions$/.test(u)) return u;
  if (/\/v1$/.test(u)) return `${u}/chat/completions`;
  return `${u}/v1/chat/completions`;
}

/** `K:V` or `K: V` → [k, v]; the name lower-cased as HTTP/1 sends it anyway. */
export function parseHeaderFlag(value: string): [string, string] {
  const i = value.indexOf(':');
  const name = i > 0 ? value.slice(0, i).trim().toLowerCase() : '';
  if (!name || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new Error(`--header must look like Name:value, got "${value}"`);
  return [name, value.slice(i + 1).trim()];
}

function loadTarget(url: string, headers: Record<string, string>, stream: boolean, model?: string): LoadTarget {
  return { url, headers: { 'content-type': 'application/json', ...headers }, body: chatBody(stream, model), stream };
}

/** One non-streaming request before the load, so a broken setup fails in a second, not after the whole phase. */
export async function preflight(t: RigTarget): Promise<void> {
  let status = 0;
  let text = '';
  try {
    const body = JSON.stringify({ ...JSON.parse(t.target.body ?? '{}'), stream: undefined, stream_options: undefined });
    const res = await request(t.target.url, { method: 'POST', headers: t.target.headers, body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    text = (err as Error).message;
  }
  const tail = t.child ? `\n--- ${t.child.name} output ---\n${t.child.outputTail()}` : '';
  if (status !== 200) {
    throw new UserError(`${t.name}: a first request failed (${status || 'no response'}): ${text.slice(0, 300)}${tail}`, 'run `npm run build` if the gateway code changed; the output above says why it failed');
  }
  if (t.expect && !text.includes(t.expect)) {
    throw new UserError(`${t.name}: the reply does not show the directive upstream, so the full pipeline is not being measured${tail}`);
  }
}

export async function startRig(opts: RigOptions, status: (line: string) => void, checkAborted: () => void): Promise<Rig> {
  const home = mkdtempSync(join(tmpdir(), 'ibex-bench-'));
  const children: ManagedChild[] = [];
  let cleanupIdentity: (() => Promise<void>) | null = null;
  const close = async () => {
    status('stopping child processes');
    await stopAll([...children].reverse());
    if (cleanupIdentity) await cleanupIdentity().catch(() => {});
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const latency = String(opts.upstreamLatencyMs);
    status(`starting the mock upstream (latency ${latency} ms)`);
    const mock = await startChild({
      name: 'mock upstream',
      args: [ibexBin(), 'mock-upstream', '--port', String(opts.mockPort ?? 0), '--latency', latency, '--ttfb', latency, '--chunks', String(opts.chunks), '--chunk-interval', String(opts.chunkIntervalMs)],
    });
    children.push(mock);
    checkAborted();
    const direct: RigTarget = { name: 'direct', target: loadTarget(`${mock.url}/chat/completions`, { authorization: 'Bearer direct' }, opts.stream, opts.model), pid: mock.pid, child: mock, baseUrl: mock.url };

    let gateway: RigTarget;
    if (opts.target) {
      status(`measuring the gateway at ${opts.target.url} (it must use the mock at ${mock.url})`);
      const url = chatCompletionsUrl(opts.target.url);
      gateway = { name: 'gateway', target: loadTarget(url, opts.target.headers, opts.stream, opts.model), pid: opts.target.pid, baseUrl: new URL(url).origin };
    } else {
      let token: string;
      let storeEnv: Record<string, string> = {};
      if (opts.stores === 'production') {
        storeEnv = productionStoreEnv(process.env);
        status('preparing the production stores (migrations, a bench agent, directive, PAT)');
        const identity = await prepareProductionStores(home, storeEnv, BENCH_DIRECTIVE);
        cleanupIdentity = identity.cleanup;
        token = identity.token;
      } else {
        status('preparing the gateway store (agent, directive, PAT)');
        token = (await prepareGatewayHome(home)).token;
      }
      checkAborted();
      status(`starting the gateway (${opts.stores === 'production' ? 'Postgres, Redis, ClickHouse' : 'embedded store'})`);
      // --cpu-prof writes the profile when the gateway exits, i.e. after the graceful stop.
      const profileArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
      const child = await startChild({
        name: 'gateway',
        args: [...profileArgs, ibexBin(), 'serve', '--port', '0', '--host', '127.0.0.1'],
        env: embeddedEnv(home, { IBEX_UPSTREAM_URL: mock.url, OPENAI_API_KEY: BENCH_UPSTREAM_KEY, ...storeEnv }),
        ready: /ibex listening on (http:\/\/\S+)/,
      });
      children.push(child);
      gateway = {
        name: 'gateway',
        target: loadTarget(`${child.url}/v1/chat/completions`, { authorization: `Bearer ${token}` }, opts.stream, opts.model),
        pid: child.pid,
        child,
        expect: BENCH_DIRECTIVE,
        baseUrl: child.url,
      };
    }
    checkAborted();

    let bare: RigTarget | null = null;
    if (opts.baseline === 'bare') {
      status('starting the bare floor proxy');
      const child = await startChild({ name: 'bare proxy', args: [builtModule('bench/bare-proxy-main.js'), '--upstream', mock.url] });
      children.push(child);
      bare = { name: 'bare', target: loadTarget(`${child.url}/v1/chat/completions`, { authorization: 'Bearer bare' }, opts.stream, opts.model), pid: child.pid, child, baseUrl: child.url };
      checkAborted();
    }

    status('checking every target answers');
    for (const t of [direct, gateway, bare]) if (t) await preflight(t);

    return {
      mock,
      direct,
      gateway,
      bare,
      gatewayIsChild: !opts.target,
      checkAlive(phase: string) {
        for (const c of children) {
          if (c.exit) throw new UserError(`${c.name} exited during the ${phase} phase (code ${c.exit.code ?? c.exit.signal})\n--- its output ---\n${c.outputTail()}`);
        }
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
