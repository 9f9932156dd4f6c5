// The load generator behind `ibex bench`: closed loop, undici keep-alive pool, bounded in time.
//
// `concurrency` workers each send a request, wait for the whole response, and send the next one, for
// `warmupMs + durationMs`. Requests that start during the warm-up are sent but not recorded (they pay
// for connection set-up, JIT and the gateway's cold caches). Once the run's end is reached no worker
// starts a new request; the ones in flight finish (or are cut after `drainTimeoutMs`), and their
// latency counts, so the tail is not hidden by stopping early.
//
// Per measured request it records the client-side latency (process.hrtime.bigint, request start to
// last body byte), the `Server-Timing: overhead;dur=…` value when the target sends one, and for
// streams the time to the first body byte and the gaps between body chunks as they reach the socket.
// Targets are loopback only: this tool must never load someone else's server.
import { Pool } from 'undici';
import { Samples } from './stats.js';
import { exchange, toMs } from './exchange.js';

export interface LoadTarget {
  /** Full URL of the endpoint, e.g. http://127.0.0.1:8787/v1/chat/completions */
  url: string;
  method?: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
  /** The response is an SSE stream: record TTFB and inter-chunk gaps, check it ends with [DONE] */
  stream: boolean;
}

export interface LoadOptions {
  target: LoadTarget;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /**
   * Worker i sends its first request after i × rampUpMs / concurrency (default 0: all at once).
   * Against a server with a constant response time, workers that start together stay in lockstep for
   * the whole run — every response arrives in bursts of `concurrency` — which no population of
   * independent clients does; spreading the starts over one response time breaks that up.
   */
  rampUpMs?: number;
  /**
   * Stop after this many measured requests were started (the run then ends when they finish, or at
   * `durationMs`, whichever comes first): a fixed amount of work, for CPU per request.
   */
  maxRequests?: number;
  /** How long in-flight requests may run past the end before they are cut (default 10 s) */
  drainTimeoutMs?: number;
  /** Per request: max wait for headers and between body chunks (default 30 s) */
  requestTimeoutMs?: number;
}

export type LoadPhase = 'warmup' | 'measure' | 'drain' | 'done';

/** Counters a progress display may read at any time (the generator mutates them in place). */
export interface LoadLive {
  phase: LoadPhase;
  /** ms since the run started */
  elapsedMs(): number;
  totalMs: number;
  warmupMs: number;
  /** requests completed during the warm-up (not recorded) */
  warmupRequests: number;
  /** measured requests completed, successes and errors */
  completed: number;
  errors: number;
  inflight: number;
  /** measured latencies of successful requests, in completion order */
  latency: Samples;
}

export interface LoadResult {
  /** measured requests: every request started after the warm-up, whatever its outcome */
  requests: number;
  ok: number;
  errors: number;
  /** error kind → count: `http_<status>`, `timeout`, `connect_refused`, `reset`, `stream_incomplete`, … */
  errorsByKind: Record<string, number>;
  /** from the end of the warm-up to the last measured completion, ms */
  windowMs: number;
  /** measured successful requests per second over the window */
  rps: number;
  warmupRequests: number;
  latency: Samples;
  /** `Server-Timing` overhead values (ms) of measured successful requests that carried one */
  serverOverhead: Samples;
  /** streams: request start → first body byte */
  ttfb: Samples;
  /** streams: gaps between consecutive body chunks */
  chunkGaps: Samples;
}

export interface LoadRun {
  live: LoadLive;
  done: Promise<LoadResult>;
  /** Stop early: no new requests, in-flight ones are cut. */
  abort(): void;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Throws unless the URL points at this machine. */
export function assertLoopback(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`bench targets must be http:// on loopback, got ${u.protocol}`);
  if (!LOOPBACK.has(u.hostname) && !/^127\.\d+\.\d+\.\d+$/.test(u.hostname)) {
    throw new Error(`bench only targets loopback addresses (127.0.0.1, localhost, ::1), got ${u.hostname}`);
  }
  return u;
}

export { errorKind, parseServerTimingOverhead } from './exchange.js';

const NS_PER_MS = 1_000_000;

export function startLoad(opts: LoadOptions): LoadRun {
  const { target, concurrency, durationMs, warmupMs } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${durationMs}`);
  if (!(warmupMs >= 0)) throw new RangeError(`warmupMs must be >= 0, got ${warmupMs}`);
  const url = assertLoopback(target.url);
  const path = url.pathname + url.search;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;

  // One connection per worker: a closed loop never has more than `concurrency` requests in flight,
  // so no request ever queues inside the client and the latency is the server's.
  const pool = new Pool(url.origin, {
    connections: concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    connectTimeout: 5_000,
  });

  const startNs = process.hrtime.bigint();
  const measureFromNs = startNs + BigInt(Math.round(warmupMs * NS_PER_MS));
  const endNs = measureFromNs + BigInt(Math.round(durationMs * NS_PER_MS));
  let stopped = false;
  let lastCompletionNs = measureFromNs;

  const latency = new Samples(16_384);
  const serverOverhead = new Samples(16_384);
  const ttfb = new Samples(target.stream ? 16_384 : 16);
  const chunkGaps = new Samples(target.stream ? 65_536 : 16);
  const errorsByKind: Record<string, number> = {};
  let requests = 0;
  let ok = 0;

  const live: LoadLive = {
    phase: warmupMs > 0 ? 'warmup' : 'measure',
    elapsedMs: () => toMs(process.hrtime.bigint() - startNs),
    totalMs: warmupMs + durationMs,
    warmupMs,
    warmupRequests: 0,
    completed: 0,
    errors: 0,
    inflight: 0,
    latency,
  };

  const method = target.method ?? 'POST';
  const requestOptions = { path, method, headers: target.headers, body: target.body } as const;

  function fail(measured: boolean, kind: string): void {
    if (!measured) return;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    live.errors++;
  }

  async function once(): Promise<'ok' | 'error' | 'connect_error'> {
    const t0 = process.hrtime.bigint();
    const measured = t0 >= measureFromNs;
    if (measured && live.phase === 'warmup') live.phase = 'measure';
    if (measured) requests++;
    live.inflight++;
    let outcome: 'ok' | 'error' | 'connect_error' = 'ok';
    const r = await exchange(pool, requestOptions, target.stream, measured);
    live.inflight--;
    if (measured) live.completed++;
    else live.warmupRequests++;
    if (r.errorKind !== null) {
      const kind = r.errorKind;
      outcome = kind === 'connect_refused' || kind === 'reset' ? 'connect_error' : 'error';
      if (!(stopped && kind === 'aborted')) fail(measured, kind);
    } else if (measured) {
      ok++;
      latency.add(toMs(r.endNs - t0));
      if (r.serverOverhead !== undefined) serverOverhead.add(r.serverOverhead);
      if (target.stream && r.firstNs !== 0n) ttfb.add(toMs(r.firstNs - t0));
      if (r.gaps) for (const g of r.gaps) chunkGaps.add(g);
    }
    if (measured && r.endNs > lastCompletionNs) lastCompletionNs = r.endNs;
    return outcome;
  }

  const rampUpMs = Math.max(0, opts.rampUpMs ?? 0);
  const maxRequests = opts.maxRequests ?? Number.POSITIVE_INFINITY;
  async function worker(index: number): Promise<void> {
    const delay = (index * rampUpMs) / concurrency;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    while (!stopped && requests < maxRequests && process.hrtime.bigint() < endNs) {
      const outcome = await once();
      // A refused or reset connection fails in microseconds; without a pause a dead target turns
      // the loop into a busy spin that starves the other processes on the machine.
      if (outcome === 'connect_error') await new Promise((r) => setTimeout(r, 10));
    }
  }

  let drainTimer: NodeJS.Timeout | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  const cut = () => {
    stopped = true;
    void pool.destroy().catch(() => {});
  };

  const done = (async (): Promise<LoadResult> => {
    // Wake up at the end to switch the phase and arm the drain deadline, even if every worker is
    // stuck in a slow request.
    endTimer = setTimeout(() => {
      live.phase = 'drain';
      drainTimer = setTimeout(cut, drainTimeoutMs);
    }, warmupMs + durationMs);
    try {
      await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
    } finally {
      clearTimeout(endTimer);
      clearTimeout(drainTimer);
      live.phase = 'done';
      await pool.close().catch(() => {});
    }
    const windowMs = Math.max(1, toMs(lastCompletionNs - measureFromNs));
    return {
      requests,
      ok,
      errors: live.errors,
      errorsByKind,
      windowMs,
      rps: (ok * 1000) / windowMs,
      warmupRequests: live.warmupRequests,
      latency,
      serverOverhead,
      ttfb,
      chunkGaps,
    };
  })();

  return { live, done, abort: cut };
}
