// Overview: traffic, errors, latency and overhead, cost today, top agents and models.
// From GET /admin/v1/overview; on a gateway without it, the same figures from this tab's live feed.
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { BarList, LineChart } from '../components/charts';
import { Card, Empty, ErrorBox, Loading } from '../components/states';
import { fmtInt, fmtMs, fmtPct, fmtRate, fmtTime, fmtUsd, percentile, toDate } from '../format';
import type { Overview, Trace } from '../types';
import { useApi } from '../use-api';
import { useLive } from '../use-live';

const WINDOWS = ['5m', '15m', '1h', '24h'];

export function OverviewPage() {
  const [window, setWindow] = useState('5m');
  const res = useApi<Overview>('/overview', { window }, 5000);
  const live = useLive();
  const fallback = res.error instanceof ApiError && res.error.routeMissing;
  const overview = fallback ? overviewFromTraces(live.traces, live.since) : res.data;

  return (
    <div class="page">
      <div class="page-head">
        <h1>Overview</h1>
        <label class="inline">
          Window{' '}
          <select value={window} onChange={(e) => setWindow((e.target as HTMLSelectElement).value)} disabled={fallback}>
            {WINDOWS.map((w) => (
              <option value={w}>{w}</option>
            ))}
          </select>
        </label>
      </div>
      {fallback && (
        <div class="note" data-testid="overview-fallback">
          This gateway has no <code>/admin/v1/overview</code>; these figures are computed in this browser from the live feed since you signed in.
        </div>
      )}
      {res.error && !fallback ? <ErrorBox error={res.error} what="the overview" /> : null}
      {!overview && res.loading && <Loading />}
      {overview && <OverviewBody o={overview} />}
    </div>
  );
}

function OverviewBody({ o }: { o: Overview }) {
  return (
    <>
      <div class="stats" data-testid="overview-stats">
        <Stat label="Requests/s" value={fmtRate(o.rps)} sub={`${fmtInt(o.requests)} in ${o.window}`} />
        <Stat label="Error rate" value={fmtPct(o.errorRate)} kind={o.errorRate > 0.05 ? 'err' : o.errorRate > 0 ? 'warn' : 'ok'} />
        <Stat label="Latency p50 / p99" value={`${fmtMs(o.latency.p50)} / ${fmtMs(o.latency.p99)}`} />
        <Stat label="Overhead p50 / p99" value={`${fmtMs(o.overhead.p50)} / ${fmtMs(o.overhead.p99)}`} />
        <Stat label="Cost today" value={fmtUsd(o.costTodayUsd)} sub={o.costTodayUsd === null ? 'no prices configured' : undefined} />
      </div>
      <Card title="Requests and errors">
        {o.series.length === 0 ? (
          <Empty title="No requests in this window">Send a request through the gateway and it shows up here.</Empty>
        ) : (
          <LineChart
            labels={[fmtTime(o.series[0]!.t), fmtTime(o.series[o.series.length - 1]!.t)]}
            series={[
              { name: 'requests', values: o.series.map((p) => p.requests), kind: 'primary' },
              { name: 'errors', values: o.series.map((p) => p.errors), kind: 'danger' },
            ]}
          />
        )}
      </Card>
      <div class="two">
        <Card title="Top agents">
          {o.topAgents.length === 0 ? <Empty title="No agents yet" /> : <BarList items={o.topAgents.map((a) => ({ label: a.agent, value: a.requests }))} />}
        </Card>
        <Card title="Top models">
          {o.topModels.length === 0 ? <Empty title="No models yet" /> : <BarList items={o.topModels.map((m) => ({ label: m.model, value: m.requests }))} />}
        </Card>
      </div>
    </>
  );
}

function Stat({ label, value, sub, kind }: { label: string; value: string; sub?: string; kind?: string }) {
  return (
    <div class={`stat ${kind ?? ''}`}>
      <div class="label">{label}</div>
      <div class="value">{value}</div>
      {sub && <div class="sub">{sub}</div>}
    </div>
  );
}

/** The overview's figures from traces seen live (the fallback for gateways without /overview). */
export function overviewFromTraces(traces: Trace[], since: number): Overview {
  const now = Date.now();
  const seconds = Math.max(1, (now - since) / 1000);
  const errors = traces.filter((t) => t.status >= 400 || t.errorCode !== null).length;
  const count = (key: (t: Trace) => string | null) => {
    const m = new Map<string, number>();
    for (const t of traces) {
      const k = key(t) ?? '(none)';
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  };
  // Ten buckets over the time since sign-in
  const buckets = 10;
  const span = Math.max(1, now - since);
  const series = Array.from({ length: buckets }, (_, i) => ({ t: since + (span * (i + 1)) / buckets, requests: 0, errors: 0 }));
  for (const t of traces) {
    const at = toDate(t.startedAt)?.getTime() ?? now;
    const b = series[Math.min(buckets - 1, Math.max(0, Math.floor(((at - since) / span) * buckets)))]!;
    b.requests++;
    if (t.status >= 400 || t.errorCode !== null) b.errors++;
  }
  const costs = traces.map((t) => t.costUsd).filter((c): c is number => typeof c === 'number');
  return {
    window: `${Math.round(seconds)} s`,
    requests: traces.length,
    rps: traces.length / seconds,
    errorRate: traces.length ? errors / traces.length : 0,
    latency: { p50: percentile(traces.map((t) => t.totalMs), 50), p99: percentile(traces.map((t) => t.totalMs), 99) },
    overhead: { p50: percentile(traces.map((t) => t.overheadMs), 50), p99: percentile(traces.map((t) => t.overheadMs), 99) },
    costTodayUsd: costs.length ? costs.reduce((a, b) => a + b, 0) : null,
    topAgents: count((t) => t.agent).map(([agent, requests]) => ({ agent, requests })),
    topModels: count((t) => t.model).map(([model, requests]) => ({ model, requests })),
    series: traces.length ? series : [],
  };
}
