// Directives: an agent's versions, the diff between two, set a new one (with ifVersion, so no update
// is lost), roll back, and per-version request stats (how a new or canary version is doing).
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type List } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { Badge, Card, Empty, ErrorBox, errorText, Loading, Mono } from '../components/states';
import { fmtInt, fmtMs, fmtPct, fmtTime, fmtUsd, percentile } from '../format';
import { navigate } from '../router';
import type { Agent, DirectiveHistory, Trace } from '../types';
import { useApi } from '../use-api';
import { useLive } from '../use-live';

export function DirectivesPage({ agent }: { agent: string | undefined }) {
  const agents = useApi<List<Agent>>('/agents');
  const [typed, setTyped] = useState(agent ?? '');
  useEffect(() => setTyped(agent ?? ''), [agent]);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Directives</h1>
        {agents.data ? (
          <select aria-label="agent" value={agent ?? ''} onChange={(e) => navigate('directives', (e.target as HTMLSelectElement).value)}>
            <option value="" disabled>
              pick an agent
            </option>
            {agents.data.data.map((a) => (
              <option value={a.name}>
                {a.name}
                {a.directiveVersion !== null ? ` (v${a.directiveVersion})` : ''}
              </option>
            ))}
          </select>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (typed.trim()) navigate('directives', typed.trim());
            }}
          >
            <input placeholder="agent" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} aria-label="agent" />
            <button type="submit">Show</button>
          </form>
        )}
      </div>
      {agents.error && !(agents.error instanceof ApiError && agents.error.routeMissing) ? <ErrorBox error={agents.error} what="agents" /> : null}
      {agent ? <AgentDirectives agent={agent} key={agent} /> : <Empty title="Pick an agent">Its directive versions, diffs and per-version stats appear here.</Empty>}
    </div>
  );
}

function AgentDirectives({ agent }: { agent: string }) {
  const path = `/directives/${encodeURIComponent(agent)}`;
  const res = useApi<DirectiveHistory>(path);
  const [actionError, setActionError] = useState<unknown>(null);
  if (res.error) return <ErrorBox error={res.error} what={`the directives of ${agent}`} />;
  if (!res.data) return <Loading what="directives" />;
  const h = res.data;
  const canary = h.deploy?.canary ?? null;
  // During a canary the text most new sessions get is the stable version's; the canary is the latest.
  const servedVersion = canary && h.deploy?.stable ? h.deploy.stable : h.current;
  const current = h.data.find((d) => d.version === servedVersion) ?? h.data[0];

  const rollback = async (to: number) => {
    setActionError(null);
    try {
      await api(`${path}/rollback`, { method: 'POST', body: { to } });
      res.reload();
    } catch (e) {
      setActionError(e);
    }
  };
  const endCanary = async (op: 'promote' | 'abort') => {
    setActionError(null);
    try {
      await api(`${path}/${op}`, { method: 'POST', body: {} });
      res.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <>
      {actionError ? <ErrorBox error={actionError} /> : null}
      <Card
        title={current ? `${canary ? 'Stable' : 'Current'}: v${current.version}` : 'No directive yet'}
        actions={current && <Mono title={current.sha256}>sha256 {current.sha256.slice(0, 12)}</Mono>}
      >
        {current ? <pre class="directive-text" data-testid="current-directive">{current.text}</pre> : <Empty title={`${agent} has no directive`}>Requests are forwarded without one until you set it below.</Empty>}
        {canary && (
          <div class="note" data-testid="canary">
            Canary: <strong>v{canary.version}</strong> serves {canary.percent}% of new sessions
            {h.deploy?.rollout === 'all-sessions' ? ' (and of sessions already running)' : ''}; the others get v{current?.version}.{' '}
            <ConfirmButton label={`Promote v${canary.version}`} confirm={`Serve v${canary.version} to every new session`} onConfirm={() => endCanary('promote')} />{' '}
            <ConfirmButton label="Abort the canary" confirm={`Serve v${current?.version}'s text again`} onConfirm={() => endCanary('abort')} />
          </div>
        )}
      </Card>
      {/* ifVersion is the latest version written (during a canary, the canary's), so is the text to start from */}
      <SetDirective agent={agent} path={path} current={h.current ?? 0} text={h.data.find((d) => d.version === h.current)?.text ?? ''} onSaved={res.reload} />
      <Card title="History">
        {h.data.length === 0 ? (
          <Empty title="No versions" />
        ) : (
          <table class="grid" data-testid="directive-history">
            <thead>
              <tr>
                <th>version</th>
                <th>created</th>
                <th>sha256</th>
                <th>text</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {h.data.map((d) => (
                <tr key={d.version} data-version={d.version}>
                  <td>
                    v{d.version} {canary && d.version === canary.version ? <Badge kind="warn">canary {canary.percent}%</Badge> : d.version === servedVersion && <Badge kind="ok">{canary ? 'stable' : 'current'}</Badge>}
                  </td>
                  <td>{fmtTime(d.createdAt)}</td>
                  <td>
                    <Mono title={d.sha256}>{d.sha256.slice(0, 12)}</Mono>
                  </td>
                  <td class="preview">{d.text.split('\n')[0]}</td>
                  <td class="actions">{d.version !== servedVersion && !(canary && d.version === canary.version) && <ConfirmButton label="Roll back to this" confirm={`Make v${d.version}'s text current`} onConfirm={() => rollback(d.version)} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {h.data.length > 1 && <Diff path={path} versions={h.data.map((d) => d.version)} />}
      <VersionStats agent={agent} />
    </>
  );
}

function SetDirective({ agent, path, current, text, onSaved }: { agent: string; path: string; current: number; text: string; onSaved(): void }) {
  const [draft, setDraft] = useState(text);
  /** Empty: every new session; 1–100: a canary on that share of new sessions */
  const [canaryPct, setCanaryPct] = useState('');
  const [error, setError] = useState<string | null>(null);
  /** What the last save made (its version and canary share), until the form is edited again */
  const [saved, setSaved] = useState<{ version: number; canary: string } | null>(null);
  useEffect(() => setDraft(text), [text]);
  return (
    <Card title={`Set a new version (v${current + 1})`}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const canary = canaryPct.trim() ? Number(canaryPct) : undefined;
            const v = await api<{ version: number }>(path, { method: 'POST', body: { text: draft, ifVersion: current, ...(canary === undefined ? {} : { canary }) } });
            setSaved({ version: v.version, canary: canaryPct.trim() });
            onSaved();
          } catch (err) {
            setError(err instanceof ApiError && err.status === 409 ? `Someone saved a newer version of ${agent}'s directive meanwhile; reload and try again.` : errorText(err));
          }
        }}
      >
        <textarea rows={6} value={draft} onInput={(e) => (setDraft((e.target as HTMLTextAreaElement).value), setSaved(null))} aria-label="directive text" />
        <div class="form-row">
          <button type="submit" class="primary" disabled={!draft.trim() || draft === text}>
            Save as v{current + 1}
          </button>
          <label>
            as a canary on{' '}
            <input type="number" min={1} max={100} placeholder="100" value={canaryPct} onInput={(e) => (setCanaryPct((e.target as HTMLInputElement).value), setSaved(null))} aria-label="canary percent" />% of
            new sessions
          </label>
          {saved !== null && (
            <span class="ok-text" data-testid="directive-saved">
              Saved v{saved.version}; {saved.canary ? `${saved.canary}% of new sessions of ${agent} get it.` : `the next request of ${agent} uses it.`}
            </span>
          )}
          {error && <span class="form-error">{error}</span>}
        </div>
      </form>
    </Card>
  );
}

function Diff({ path, versions }: { path: string; versions: number[] }) {
  const [to, setTo] = useState(versions[0]!);
  const [from, setFrom] = useState(versions[1]!);
  const res = useApi<{ from: number; to: number; diff: string }>(`${path}/diff`, { from, to });
  const pick = (set: (v: number) => void) => (e: Event) => set(Number((e.target as HTMLSelectElement).value));
  return (
    <Card
      title="Diff"
      actions={
        <>
          <select aria-label="from version" value={from} onChange={pick(setFrom)}>
            {versions.map((v) => (
              <option value={v}>v{v}</option>
            ))}
          </select>
          →
          <select aria-label="to version" value={to} onChange={pick(setTo)}>
            {versions.map((v) => (
              <option value={v}>v{v}</option>
            ))}
          </select>
        </>
      }
    >
      {res.error ? <ErrorBox error={res.error} what="the diff" /> : null}
      {res.data && (
        <pre class="diff" data-testid="diff">
          {res.data.diff === '' ? (
            <span class="muted">identical</span>
          ) : (
            res.data.diff.split('\n').map((line) => <div class={line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>{line || ' '}</div>)
          )}
        </pre>
      )}
    </Card>
  );
}

/** Requests per directive version from the agent's recent traces (or, on older gateways, the live feed). */
function VersionStats({ agent }: { agent: string }) {
  const res = useApi<List<Trace>>('/traces', { agent, limit: 500 }, 10_000);
  const live = useLive();
  const fallback = res.error instanceof ApiError && res.error.routeMissing;
  const traces = fallback ? live.traces.filter((t) => t.agent === agent) : (res.data?.data ?? []);
  const groups = new Map<string, Trace[]>();
  for (const t of traces) {
    const key = t.directiveVersion === null ? 'none' : `v${t.directiveVersion}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const rows = [...groups.entries()].sort((a, b) => b[0].localeCompare(a[0], undefined, { numeric: true }));
  return (
    <Card title="Per-version stats" actions={<span class="muted">{fallback ? 'from the live feed since sign-in' : `last ${fmtInt(traces.length)} requests`}</span>}>
      {res.error && !fallback ? <ErrorBox error={res.error} what="traces" /> : null}
      {rows.length === 0 ? (
        <Empty title="No requests yet" />
      ) : (
        <table class="grid" data-testid="version-stats">
          <thead>
            <tr>
              <th>directive</th>
              <th class="num">requests</th>
              <th class="num">error rate</th>
              <th class="num">latency p50</th>
              <th class="num">latency p99</th>
              <th class="num">avg tokens out</th>
              <th class="num">cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([version, ts]) => {
              const errors = ts.filter((t) => t.status >= 400 || t.errorCode !== null).length;
              const out = ts.map((t) => t.completionTokens).filter((n): n is number => n !== null);
              const costs = ts.map((t) => t.costUsd).filter((c): c is number => typeof c === 'number');
              return (
                <tr>
                  <td>{version}</td>
                  <td class="num">{fmtInt(ts.length)}</td>
                  <td class="num">{fmtPct(errors / ts.length)}</td>
                  <td class="num">{fmtMs(percentile(ts.map((t) => t.totalMs), 50))}</td>
                  <td class="num">{fmtMs(percentile(ts.map((t) => t.totalMs), 99))}</td>
                  <td class="num">{out.length ? fmtInt(out.reduce((a, b) => a + b, 0) / out.length) : '—'}</td>
                  <td class="num">{costs.length ? fmtUsd(costs.reduce((a, b) => a + b, 0)) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
