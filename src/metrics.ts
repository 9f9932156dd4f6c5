// Prometheus metrics for `/metrics`. Everything lives in a dedicated Registry (not prom-client's
// global one) so each gateway instance — and each test — owns its own set and several can coexist
// in one process.
//
// Hot path rule: recording must cost a few property reads and additions. Label children with
// bounded label sets are created once here (stream, queue, auth result), the status×agent children
// are cached on first use (bounded by statuses × agents), and anything that is a *level* (queue
// depth, spool size) is read at scrape time by a collector instead of being updated per request.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Trace } from './stores/ports.js';

/** Queues whose depth and spool size are exported. */
export type QueueName = 'traces' | 'checkpoints';
export const QUEUE_NAMES: readonly QueueName[] = ['traces', 'checkpoints'];

/** Outcomes of an auth-cache lookup. */
export type AuthLookupResult = 'hit' | 'miss' | 'bloom_reject' | 'budget_reject';
export const AUTH_LOOKUP_RESULTS: readonly AuthLookupResult[] = ['hit', 'miss', 'bloom_reject', 'budget_reject'];

/** What a queue reports at scrape time. */
export interface QueueLevels {
  /** items waiting in memory */
  depth: number;
  /** bytes currently spooled to disk (0 when nothing is spooled) */
  spoolBytes: number;
}

/** The subset of a Trace that request metrics need; a whole Trace fits. */
export type RequestSample = Pick<Trace, 'status' | 'agent' | 'stream' | 'totalMs' | 'overheadMs' | 'upstreamTtfbMs'>;

export interface MetricsOptions {
  /** Node process metrics (RSS, heap, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

// Request latency: ms resolution at the low end (gateway + fast mock), up to long generations.
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Gateway overhead is expected well under a millisecond: sub-ms buckets or the histogram says nothing.
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
// Upstream time to first byte: streaming TTFB is usually 50 ms – a few s.
const TTFB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Revocation propagation: push should land in ms, the polling backstop within seconds.
const PROPAGATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();

  // Registered first on purpose: Registry#metrics() calls each metric's get() in registration
  // order and a gauge's collect() runs synchronously at the start of get(), so the collectors
  // below have updated their gauges before any other metric is read.
  const collectors: Array<() => void> = [];
  const collectorsDuration = new Gauge({
    name: 'ibex_metrics_collectors_seconds',
    help: 'Time the scrape-time collectors took during this scrape',
    registers: [registry],
    collect() {
      const t0 = performance.now();
      for (const fn of collectors) {
        try {
          fn();
        } catch {
          // A broken collector must not break /metrics; its gauges keep their last value.
        }
      }
      this.set((performance.now() - t0) / 1000);
    },
  });

  const requestsTotal = new Counter({
    name: 'ibex_requests_total',
    help: 'Requests answered by the gateway, by HTTP status and agent',
    labelNames: ['status', 'agent'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'ibex_request_duration_seconds',
    help: 'Total request time as seen by the gateway (until the last byte), by stream flag',
    labelNames: ['stream'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const overheadDuration = new Histogram({
    name: 'ibex_overhead_duration_seconds',
    help: 'Gateway overhead per request: total time minus provider time',
    buckets: OVERHEAD_BUCKETS,
    registers: [registry],
  });
  const upstreamTtfb = new Histogram({
    name: 'ibex_upstream_ttfb_seconds',
    help: 'Time from sending the request upstream to its response headers, by stream flag',
    labelNames: ['stream'] as const,
    buckets: TTFB_BUCKETS,
    registers: [registry],
  });
  const authCacheLookups = new Counter({
    name: 'ibex_auth_cache_lookups_total',
    help: 'PAT lookups by outcome: cache hit, cache miss (store asked), bloom reject, budget reject',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'ibex_queue_depth',
    help: 'Items waiting in a write-behind queue (read at scrape time)',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const spoolBytes = new Gauge({
    name: 'ibex_spool_bytes',
    help: 'Bytes of a queue currently spooled to disk (read at scrape time)',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const droppedTotal = new Counter({
    name: 'ibex_dropped_total',
    help: 'Items a queue could neither write nor spool and had to drop',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const authRejectedTotal = new Counter({
    name: 'ibex_auth_rejected_total',
    help: 'Requests refused before the pipeline ran: missing, malformed, unknown, expired or revoked PAT',
    registers: [registry],
  });
  const deadLetterTotal = new Counter({
    name: 'ibex_dead_letter_total',
    help: 'Items a store refused because of their data, set aside in the spool dead/ folder',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const rateLimitFailOpenTotal = new Counter({
    name: 'ibex_rate_limit_fail_open_total',
    help: 'Requests let through because the rate limiter store could not answer',
    registers: [registry],
  });
  const budgetStoreErrorsTotal = new Counter({
    name: 'ibex_budget_store_errors_total',
    help: 'Budget store (ledger of spend) calls that failed, by IBEX_BUDGET_ON_STORE_ERROR mode applied',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  const revocationPropagation = new Histogram({
    name: 'ibex_revocation_propagation_seconds',
    help: 'Time from a revocation being recorded to this process applying it',
    buckets: PROPAGATION_BUCKETS,
    registers: [registry],
  });

  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'ibex_' });
  }

  // Precreated children for bounded label sets: no label hashing on the hot path.
  const durationByStream = { true: requestDuration.labels('true'), false: requestDuration.labels('false') };
  const ttfbByStream = { true: upstreamTtfb.labels('true'), false: upstreamTtfb.labels('false') };
  const authByResult = Object.fromEntries(AUTH_LOOKUP_RESULTS.map((r) => [r, authCacheLookups.labels(r)])) as Record<
    AuthLookupResult,
    { inc(v?: number): void }
  >;
  const droppedByQueue = Object.fromEntries(QUEUE_NAMES.map((q) => [q, droppedTotal.labels(q)])) as Record<
    QueueName,
    { inc(v?: number): void }
  >;
  const deadLetterByQueue = Object.fromEntries(QUEUE_NAMES.map((q) => [q, deadLetterTotal.labels(q)])) as Record<
    QueueName,
    { inc(v?: number): void }
  >;
  // status × agent: bounded by (distinct statuses) × (agents); cached on first use.
  const requestChildren = new Map<string, { inc(v?: number): void }>();
  // Initialise at zero so dashboards see the series before the first event.
  for (const r of AUTH_LOOKUP_RESULTS) authByResult[r].inc(0);
  for (const q of QUEUE_NAMES) droppedByQueue[q].inc(0);
  for (const q of QUEUE_NAMES) deadLetterByQueue[q].inc(0);
  rateLimitFailOpenTotal.inc(0);

  const queueSources = new Map<QueueName, () => QueueLevels>();
  collectors.push(() => {
    for (const [queue, read] of queueSources) {
      const levels = read();
      queueDepth.set({ queue }, levels.depth);
      spoolBytes.set({ queue }, levels.spoolBytes);
    }
  });

  return {
    registry,
    /** `content-type` for the `/metrics` reply */
    contentType: registry.contentType,

    requestsTotal,
    requestDuration,
    overheadDuration,
    upstreamTtfb,
    authCacheLookups,
    queueDepth,
    spoolBytes,
    droppedTotal,
    deadLetterTotal,
    rateLimitFailOpenTotal,
    revocationPropagation,
    collectorsDuration,

    /** Records one finished request (pass the Trace): count, total time, overhead, upstream TTFB. */
    recordRequest(sample: RequestSample): void {
      const agent = sample.agent ?? '';
      const key = `${sample.status}\u0000${agent}`;
      let child = requestChildren.get(key);
      if (!child) {
        child = requestsTotal.labels(String(sample.status), agent);
        requestChildren.set(key, child);
      }
      child.inc();
      const stream = sample.stream ? 'true' : 'false';
      durationByStream[stream].observe(sample.totalMs / 1000);
      overheadDuration.observe(sample.overheadMs / 1000);
      if (sample.upstreamTtfbMs !== null) ttfbByStream[stream].observe(sample.upstreamTtfbMs / 1000);
    },

    /** One PAT lookup by outcome. */
    recordAuthLookup(result: AuthLookupResult): void {
      authByResult[result].inc();
    },

    /** A request refused by the auth hook (whether or not it was traced). */
    recordAuthRejected(): void {
      authRejectedTotal.inc();
    },

    /** Items a queue dropped (default 1). */
    recordDropped(queue: QueueName, count = 1): void {
      droppedByQueue[queue].inc(count);
    },

    /** Items a store refused and a queue set aside (default 1). */
    recordDeadLettered(queue: QueueName, count = 1): void {
      deadLetterByQueue[queue].inc(count);
    },

    /** A request let through because the rate limiter was unavailable. */
    recordRateLimitFailOpen(): void {
      rateLimitFailOpenTotal.inc();
    },

    /** A budget store call failed; `mode` is what the request got (open, closed, local). */
    recordBudgetStoreError(mode: string): void {
      budgetStoreErrorsTotal.labels(mode).inc();
    },

    /** ms between a revocation's `at` and this process applying it. */
    recordRevocationPropagation(ms: number): void {
      revocationPropagation.observe(Math.max(0, ms) / 1000);
    },

    /** The queue's depth and spool size are read from `read` at each scrape (replaces an earlier source). */
    registerQueue(queue: QueueName, read: () => QueueLevels): void {
      queueSources.set(queue, read);
    },

    /**
     * Runs `fn` synchronously at every scrape, before any metric is read, to set gauges from
     * state that is cheap to read but should not be touched per request. Returns an unregister function.
     */
    registerCollector(fn: () => void): () => void {
      collectors.push(fn);
      return () => {
        const i = collectors.indexOf(fn);
        if (i >= 0) collectors.splice(i, 1);
      };
    },

    /** The Prometheus text exposition of every metric. */
    render(): Promise<string> {
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
