// The open-loop load generator behind `ibex bench --rate N`: requests are sent on a fixed schedule
// (one every 1/N s) whatever the server does, over a fixed pool of connections (default 32), the way
// other gateways publish their figures ("p99 at 1,000 req/s"). A closed loop slows down when the server
// does, which hides queueing; an open loop does not, so each request's latency is measured from the
// time it was *scheduled* to be sent, not from when a connection became free to send it (otherwise a
// stall would be counted once instead of for every request it delayed: "coordinated omission").
//
// Requests scheduled during the warm-up are sent but not recorded. At the end no new request is
// scheduled; the ones in flight finish (or are cut after `drainTimeoutMs`). If more than `maxInflight`
// requests are waiting (the server cannot keep up), new ones are not sent but counted as errors of
// kind `overload`, so memory stays bounded and the report says the rate was not held.
import { Pool } from 'undici';
import { Samples } from './stats.js';
import { exchange, toMs } from './exchange.js';
import { assertLoopback, type LoadLive, type LoadResult, type LoadRun, type LoadTarget } from './load.js';

export interface OpenLoadOptions {
  target: LoadTarget;
  /** requests per second */
  rate: number;
  /** keep-alive connections to the target (default 32) */
  connections?: number;
  durationMs: number;
  warmupMs: number;
  /** requests in flight or queued for a connection above which new ones are dropped (default 10 × rate, ≥ 1000) */
  maxInflight?: number;
  drainTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export const DEFAULT_OPEN_LOOP_CONNECTIONS = 32;

/** Send times (ns offsets from the start) of the requests due by `elapsedNs`, from index `next` on. */
export function dueCount(next: number, elapsedNs: bigint, intervalNs: number): number {
  // request i is due at i × interval; all with i × interval <= elapsed are due
  const lastDue = Math.floor(Number(elapsedNs) / intervalNs);
  return Math.max(0, lastDue + 1 - next);
}

export function startOpenLoad(opts: OpenLoadOptions): LoadRun {
  const { target, rate, durationMs, warmupMs } = opts;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be > 0, got ${rate}`);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${durationMs}`);
  if (!(warmupMs >= 0)) throw new RangeError(`warmupMs must be >= 0, got ${warmupMs}`);
  const url = assertLoopback(target.url);
  const connections = opts.connections ?? DEFAULT_OPEN_LOOP_CONNECTIONS;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
  const maxInflight = opts.maxInflight ?? Math.max(1000, Math.ceil(rate * 10));
  const intervalNs = 1e9 / rate;

  const pool = new Pool(url.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    connectTimeout: 5_000,
  });
  const requestOptions = { path: url.pathname + url.search, method: target.method ?? 'POST', headers: target.headers, body: target.body } as const;

  const startNs = process.hrtime.bigint();
  const warmupNs = BigInt(Math.round(warmupMs * 1e6));
  const totalNs = warmupNs + BigInt(Math.round(durationMs * 1e6));
  const measureFromNs = startNs + warmupNs;
  let lastCompletionNs = measureFromNs;
  let stopped = false;
  let next = 0;

  const latency = new Samples(16_384);
  const serverOverhead = new Samples(16_384);
  const ttfb = new Samples(target.stream ? 16_384 : 16);
  const chunkGaps = new Samples(target.stream ? 65_536 : 16);
  const errorsByKind: Record<string, number> = {};
  let requests = 0;
  let ok = 0;
  const inflight = new Set<Promise<void>>();

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

  const fail = (measured: boolean, kind: string) => {
    if (!measured) return;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    live.errors++;
  };

  async function send(scheduledNs: bigint, measured: boolean): Promise<void> {
    live.inflight++;
    const r = await exchange(pool, requestOptions, target.stream, measured);
    live.inflight--;
    if (measured) live.completed++;
    else live.warmupRequests++;
    if (r.errorKind !== null) {
      if (!(stopped && r.errorKind === 'aborted')) fail(measured, r.errorKind);
    } else if (measured) {
      ok++;
      latency.add(toMs(r.endNs - scheduledNs));
      if (r.serverOverhead !== undefined) serverOverhead.add(r.serverOverhead);
      if (target.stream && r.firstNs !== 0n) ttfb.add(toMs(r.firstNs - scheduledNs));
      if (r.gaps) for (const g of r.gaps) chunkGaps.add(g);
    }
    if (measured && r.endNs > lastCompletionNs) lastCompletionNs = r.endNs;
  }

  let tickTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let finishTicking: () => void = () => {};
  const ticking = new Promise<void>((resolve) => (finishTicking = resolve));

  // Sends every request due by now, then sleeps until the next one is due (timers fire at ~1 ms
  // granularity, so at 3,000 req/s requests leave in small groups, each measured from its own slot).
  function tick(): void {
    if (stopped) return finishTicking();
    const elapsed = process.hrtime.bigint() - startNs;
    const horizon = elapsed < totalNs ? elapsed : totalNs - 1n;
    const due = dueCount(next, horizon, intervalNs);
    for (let k = 0; k < due; k++, next++) {
      const offset = BigInt(Math.round(next * intervalNs));
      const measured = offset >= warmupNs;
      if (measured && live.phase === 'warmup') live.phase = 'measure';
      if (measured) requests++;
      if (inflight.size >= maxInflight) {
        fail(measured, 'overload');
        if (measured) live.completed++;
        continue;
      }
      const p = send(startNs + offset, measured).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    if (elapsed >= totalNs) {
      live.phase = 'drain';
      return finishTicking();
    }
    const waitMs = (next * intervalNs - Number(process.hrtime.bigint() - startNs)) / 1e6;
    tickTimer = setTimeout(tick, Math.max(0, Math.min(waitMs, 50)));
  }

  const cut = () => {
    stopped = true;
    clearTimeout(tickTimer);
    finishTicking();
    void pool.destroy().catch(() => {});
  };

  const done = (async (): Promise<LoadResult> => {
    tick();
    try {
      await ticking;
      drainTimer = setTimeout(cut, drainTimeoutMs);
      while (inflight.size > 0) await Promise.all([...inflight]);
    } finally {
      clearTimeout(tickTimer);
      clearTimeout(drainTimer);
      live.phase = 'done';
      await pool.close().catch(() => {});
    }
    const windowMs = Math.max(1, toMs(lastCompletionNs - measureFromNs));
    return { requests, ok, errors: live.errors, errorsByKind, windowMs, rps: (ok * 1000) / windowMs, warmupRequests: live.warmupRequests, latency, serverOverhead, ttfb, chunkGaps };
  })();

  return { live, done, abort: cut };
}
