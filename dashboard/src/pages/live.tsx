// Live: the request feed as it happens (GET /admin/v1/events), filterable; a row opens its trace.
import { useMemo, useState } from 'preact/hooks';
import { Badge, Empty, ErrorBox, Mono } from '../components/states';
import { findLiveTrace, LIVE_CAPACITY } from '../live';
import { describeDecisions, fmtInt, fmtMs, fmtTime, fmtUsd, statusClass } from '../format';
import { href, navigate } from '../router';
import type { Trace } from '../types';
import { useApi } from '../use-api';
import type { List } from '../api';
import { useLive } from '../use-live';

type StatusFilter = 'all' | 'ok' | 'errors';

export function LivePage({ selected }: { selected: string | undefined }) {
  const live = useLive();
  const [agent, setAgent] = useState('');
  const [model, setModel] = useState('');
  const [status, setStatus] = useState<StatusFilter>('all');
  const [text, setText] = useState('');
  const [paused, setPaused] = useState<Trace[] | null>(null);

  const source = paused ?? live.traces;
  const agents = useMemo(() => distinct(live.traces.map((t) => t.agent)), [live.traces]);
  const models = useMemo(() => distinct(live.traces.map((t) => t.model)), [live.traces]);
  const shown = source.filter(
    (t) =>
      (!agent || t.agent === agent) &&
      (!model || t.model === model) &&
      (status === 'all' || (status === 'ok') === !isError(t)) &&
      (!text || [t.requestId, t.clientRequestId, t.sessionId, t.errorCode, t.provider].some((v) => v?.includes(text))),
  );

  return (
    <div class={`page live ${selected ? 'with-panel' : ''}`}>
      <div class="page-head">
        <h1>Live</h1>
        <span class={`conn ${live.state}`} data-testid="live-state" title={live.detail}>
          {live.state === 'live' ? '● live' : live.state === 'stopped' ? '○ stopped' : `◌ ${live.state}…`}
        </span>
        {live.dropped > 0 && <Badge kind="warn">{fmtInt(live.dropped)} events dropped by the gateway (this tab was slow)</Badge>}
      </div>
      <div class="filters">
        <select aria-label="agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
          <option value="">all agents</option>
          {agents.map((a) => (
            <option value={a}>{a}</option>
          ))}
        </select>
        <select aria-label="model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
          <option value="">all models</option>
          {models.map((m) => (
            <option value={m}>{m}</option>
          ))}
        </select>
        <select aria-label="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value as StatusFilter)}>
          <option value="all">all statuses</option>
          <option value="ok">ok</option>
          <option value="errors">errors</option>
        </select>
        <input type="search" placeholder="request, session, error code…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="button" onClick={() => setPaused(paused ? null : live.traces)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span class="muted">
          {shown.length} of {source.length} (last {LIVE_CAPACITY} kept)
        </span>
      </div>
      <div class="split">
        <div class="table-wrap">
          {shown.length === 0 ? (
            <Empty title={source.length === 0 ? 'Waiting for requests' : 'No request matches the filters'}>
              {source.length === 0 ? 'Every request through the gateway appears here as it completes.' : null}
            </Empty>
          ) : (
            <table class="grid clickable" data-testid="live-table">
              <thead>
                <tr>
                  <th>time</th>
                  <th>status</th>
                  <th>error</th>
                  <th>agent</th>
                  <th>model</th>
                  <th class="wide-only">provider</th>
                  <th class="num">latency</th>
                  <th class="num wide-only">overhead</th>
                  <th class="num">tokens in/out</th>
                  <th class="num wide-only">cost</th>
                  <th>request</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr
                    key={t.requestId}
                    data-request-id={t.requestId}
                    class={selected === t.requestId ? 'selected' : ''}
                    onClick={() => navigate('live', t.requestId)}
                  >
                    <td>{fmtTime(t.startedAt)}</td>
                    <td>
                      <Badge kind={statusClass(t.status)}>{t.status}</Badge>
                    </td>
                    <td>{t.errorCode ? <Mono>{t.errorCode}</Mono> : ''}</td>
                    <td>{t.agent ?? '—'}</td>
                    <td>{t.model ?? '—'}</td>
                    <td class="wide-only">{t.provider ?? '—'}</td>
                    <td class="num">{fmtMs(t.totalMs)}</td>
                    <td class="num wide-only">{fmtMs(t.overheadMs)}</td>
                    <td class="num">
                      {fmtInt(t.promptTokens)} / {fmtInt(t.completionTokens)}
                    </td>
                    <td class="num wide-only">{fmtUsd(t.costUsd)}</td>
                    <td>
                      <Mono>{t.requestId.slice(0, 8)}</Mono>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        {selected && <TracePanel requestId={selected} />}
      </div>
    </div>
  );
}

/** One trace: from the live buffer, else from GET /admin/v1/traces?requestId= */
function TracePanel({ requestId }: { requestId: string }) {
  const fromLive = findLiveTrace(requestId);
  const res = useApi<List<Trace>>(fromLive ? null : '/traces', { requestId, limit: 1 });
  const trace = fromLive ?? res.data?.data[0];
  return (
    <aside class="panel" data-testid="trace-panel">
      <header>
        <h2>Trace</h2>
        <a href={href('live')} class="close" aria-label="close">
          ×
        </a>
      </header>
      {!trace && res.error ? <ErrorBox error={res.error} what="this trace" /> : null}
      {!trace && !res.error && !res.loading && <Empty title="Trace not found">It may be older than what this gateway keeps.</Empty>}
      {trace && <TraceDetail t={trace} />}
    </aside>
  );
}

function TraceDetail({ t }: { t: Trace }) {
  const stages = Object.entries(t.stages ?? {});
  const stageMax = Math.max(1e-9, ...stages.map(([, ms]) => ms));
  return (
    <>
      <dl class="kv">
        <dt>request id</dt>
        <dd>
          <Mono>{t.requestId}</Mono>
        </dd>
        {t.clientRequestId && (
          <>
            <dt>client request id</dt>
            <dd>
              <Mono>{t.clientRequestId}</Mono>
            </dd>
          </>
        )}
        <dt>status</dt>
        <dd>
          <Badge kind={statusClass(t.status)}>{t.status}</Badge> {t.errorCode && <Mono>{t.errorCode}</Mono>}
        </dd>
        <dt>started</dt>
        <dd>{fmtTime(t.startedAt)}</dd>
        <dt>agent</dt>
        <dd>{t.agent ?? '—'}</dd>
        <dt>session</dt>
        <dd>{t.sessionId ? <a href={href('sessions', t.sessionId)}><Mono>{t.sessionId}</Mono></a> : '—'}</dd>
        <dt>PAT</dt>
        <dd>{t.patId ? <Mono>{t.patId}</Mono> : '—'}</dd>
        <dt>model / provider</dt>
        <dd>
          {t.model ?? '—'} / {t.provider ?? '—'}
          {t.servedModel && t.servedModel !== t.model ? (
            <>
              {' '}
              serving <Mono>{t.servedModel}</Mono>
            </>
          ) : null}
        </dd>
        {t.attempts?.length ? (
          <>
            <dt>failed first</dt>
            <dd data-testid="attempts">{t.attempts.map((a) => `${a.provider}/${a.model} (${a.error})`).join(', ')}</dd>
          </>
        ) : null}
        <dt>directive</dt>
        <dd>{t.directiveVersion === null ? 'none' : `v${t.directiveVersion}`}</dd>
        <dt>stream</dt>
        <dd>{t.stream ? 'yes' : 'no'}</dd>
        <dt>total</dt>
        <dd>{fmtMs(t.totalMs)}</dd>
        <dt>upstream ttfb / total</dt>
        <dd>
          {fmtMs(t.upstreamTtfbMs)} / {fmtMs(t.upstreamMs)}
        </dd>
        <dt>overhead</dt>
        <dd>{fmtMs(t.overheadMs)}</dd>
        <dt>tokens</dt>
        <dd>
          {fmtInt(t.promptTokens)} in, {fmtInt(t.completionTokens)} out
        </dd>
        <dt>cost</dt>
        <dd>{fmtUsd(t.costUsd)}</dd>
        {t.cacheStatus && (
          <>
            <dt>response cache</dt>
            <dd>{t.cacheStatus}</dd>
          </>
        )}
        {t.policyDecisions?.length ? (
          <>
            <dt>policies</dt>
            <dd data-testid="policy-decisions">{describeDecisions(t.policyDecisions)}</dd>
          </>
        ) : null}
        <dt>bytes in / out</dt>
        <dd>
          {fmtInt(t.bytesIn)} / {fmtInt(t.bytesOut)}
        </dd>
      </dl>
      {stages.length > 0 && (
        <>
          <h3>Pipeline stages</h3>
          <table class="grid stages">
            <tbody>
              {stages.map(([name, ms]) => (
                <tr>
                  <td>{name}</td>
                  <td class="num">{fmtMs(ms)}</td>
                  <td class="bar-cell">
                    <svg viewBox="0 0 100 8" preserveAspectRatio="none">
                      <rect class="bar" x={0} y={0} height={8} width={Math.max(0.5, (ms / stageMax) * 100)} />
                    </svg>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function isError(t: Trace): boolean {
  return t.status >= 400 || t.errorCode !== null;
}

function distinct(values: (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v))].sort();
}
