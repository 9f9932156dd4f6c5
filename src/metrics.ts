// Prometheus metrics for `/metrics`. Everything lives in a dedicated Registry (not prom-client's
// global one) so each gateway instance — and each test — owns its own set and several can coexist
// in one process.
//
// Hot path rule: recording must cost a few property reads and additions. The per-request metrics
// (request count, durations, overhead, TTFB) are ibex's own small counters and histograms (below):
// prom-client's observe()/inc() validate and hash the label set on every call, even on a child bound
// to its labels, which was ≈ 2 % of the gateway's CPU. They are read by prom-client's registry at
// scrape time, so the exposition is unchanged. Other label children with bounded label sets are
// created once here (queue, auth result), and anything that is a *level* (queue depth, spool size) is
// read at scrape time by a collector instead of being updated per request.
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

/** One label set of a RequestHistogram: observe() is a bucket search and three additions. */
export class HistogramSeries {
  /** per bucket, not cumulative (summed at scrape time) */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly upper: readonly number[]) {
    this.counts = new Float64Array(upper.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const upper = this.upper;
    let i = 0;
    while (i < upper.length && value > upper[i]!) i++;
    if (i < upper.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };
/** What prom-client's Registry reads from a metric at scrape time. */
interface RegistryMetric {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }>;
  reset(): void;
}

/**
 * A histogram with at most one label, exposed like prom-client's (`_bucket{…,le=…}` cumulative, `+Inf`,
 * `_sum`, `_count`); a label value's series appears once it has been observed.
 */
export class RequestHistogram implements RegistryMetric {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string | null,
    private readonly upper: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series of one label value (the only one when the histogram has no label); keep it. */
  child(labelValue = ''): HistogramSeries {
    let s = this.series.get(labelValue);
    if (!s) {
      s = new HistogramSeries(this.upper);
      this.series.set(labelValue, s);
    }
    return s;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const [labelValue, s] of this.series) {
      if (s.count === 0) continue;
      const labels: Record<string, string> = this.labelName ? { [this.labelName]: labelValue } : {};
      let cumulative = 0;
      for (let i = 0; i < this.upper.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: this.upper[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

/** `ibex_requests_total{status, agent}`: one plain counter per pair, found by one Map lookup. */
export class RequestCounter implements RegistryMetric {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  private readonly counts = new Map<string, { status: string; agent: string; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  inc(status: number, agent: string): void {
    const key = `${status}\u0000${agent}`;
    const c = this.counts.get(key);
    if (c) c.value++;
    else this.counts.set(key, { status: String(status), agent, value: 1 });
  }

  async get() {
    const values: MetricValue[] = [];
    for (const c of this.counts.values()) values.push({ labels: { status: c.status, agent: c.agent }, value: c.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.clear();
  }
}

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();

  // Registered first on purpose: Registry#metrics() calls each metric's get() in registration
  // order and a gauge's collect() runs synchronously at the start of get(), so the collectors
  // below have updated their gauges before any other metric is read.
  const collectors: Array<() => void> = [];
  const addCollector = (fn: () => void): (() => void) => {
    collectors.push(fn);
    return () => {
      const i = collectors.indexOf(fn);
      if (i >= 0) collectors.splice(i, 1);
    };
  };
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

  const requestsTotal = new RequestCounter('ibex_requests_total', 'Requests answered by the gateway, by HTTP status and agent', registry);
  const requestDuration = new RequestHistogram(
    'ibex_request_duration_seconds',
    'Total request time as seen by the gateway (until the last byte), by stream flag',
    'stream',
    REQUEST_BUCKETS,
    registry,
  );
  const overheadDuration = new RequestHistogram('ibex_overhead_duration_seconds', 'Gateway overhead per request: total time minus provider time', null, OVERHEAD_BUCKETS, registry);
  const upstreamTtfb = new RequestHistogram(
    'ibex_upstream_ttfb_seconds',
    'Time from sending the request upstream to its response headers, by stream flag',
    'stream',
    TTFB_BUCKETS,
    registry,
  );
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
  const serverBusyTotal = new Counter({
    name: 'ibex_server_busy_total',
    help: 'Requests refused with 503 server_busy: their body would have taken the bodies held at once past IBEX_MAX_INFLIGHT_BODY_BYTES',
    registers: [registry],
  });
  const providerOpenCircuits = new Gauge({
    name: 'ibex_provider_open_circuits',
    help: "Targets (models) of a provider whose circuit breaker is open: tried last in their chains (read at scrape time)",
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const translatedTurnsBytes = new Gauge({
    name: 'ibex_translated_turns_bytes',
    help: 'Size of the Responses turns kept for continuations of translated replies (bounded at 64 MiB; read at scrape time)',
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
  const durationByStream = { true: requestDuration.child('true'), false: requestDuration.child('false') };
  const ttfbByStream = { true: upstreamTtfb.child('true'), false: upstreamTtfb.child('false') };
  const overhead = overheadDuration.child();
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

    /**
     * The open breakers of each provider, read at each scrape from `read` (the current registry's
     * providers; one reloaded away is no longer listed).
     */
    registerProviders(read: () => readonly { id: string; openCircuits: number }[]): () => void {
      return addCollector(() => {
        providerOpenCircuits.reset();
        for (const p of read()) providerOpenCircuits.labels(p.id).set(p.openCircuits);
      });
    },

    /** The size of the translated turns kept (pipeline/translated-turns.ts), read at each scrape. */
    registerTranslatedTurns(read: () => number): () => void {
      return addCollector(() => translatedTurnsBytes.set(read()));
    },

    /** Records one finished request (pass the Trace): count, total time, overhead, upstream TTFB. */
    recordRequest(sample: RequestSample): void {
      // status × agent: bounded by (distinct statuses) × (agents)
      requestsTotal.inc(sample.status, sample.agent ?? '');
      const stream = sample.stream ? 'true' : 'false';
      durationByStream[stream].observe(sample.totalMs / 1000);
      overhead.observe(sample.overheadMs / 1000);
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

    /** A request refused because the request bodies held at once were at their bound. */
    recordServerBusy(): void {
      serverBusyTotal.inc();
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
      return addCollector(fn);
    },

    /** The Prometheus text exposition of every metric. */
    render(): Promise<string> {
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
