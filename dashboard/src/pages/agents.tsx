// Agents and PATs: create, disable/enable and list agents; issue (token shown once), list and revoke PATs.
import { useState } from 'preact/hooks';
import { api, type List } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { Badge, Card, Empty, ErrorBox, errorText, Loading, Mono } from '../components/states';
import { fmtInt, fmtTime, fmtUsd, toDate } from '../format';
import { href } from '../router';
import type { Agent, NewPat, Pat } from '../types';
import { useApi } from '../use-api';

export function AgentsPage() {
  const agents = useApi<List<Agent>>('/agents');
  const [patAgent, setPatAgent] = useState('');
  const pats = useApi<List<Pat>>('/pats', { agent: patAgent });
  const [actionError, setActionError] = useState<unknown>(null);

  const act = async (fn: () => Promise<unknown>, reload: () => void) => {
    setActionError(null);
    try {
      await fn();
      reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Agents &amp; PATs</h1>
      </div>
      {actionError ? <ErrorBox error={actionError} /> : null}
      <Card title="Agents" actions={<CreateAgent onCreated={agents.reload} />}>
        {agents.error ? <ErrorBox error={agents.error} what="agents" /> : null}
        {agents.loading && <Loading what="agents" />}
        {agents.data && agents.data.data.length === 0 && <Empty title="No agents yet">Create one above, or with <code>ibex agent create NAME</code>.</Empty>}
        {agents.data && agents.data.data.length > 0 && (
          <table class="grid" data-testid="agents-table">
            <thead>
              <tr>
                <th>name</th>
                <th>description</th>
                <th class="num">rpm</th>
                <th>limits and budgets</th>
                <th>directive</th>
                <th>status</th>
                <th>created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {agents.data.data.map((a) => (
                <tr key={a.name} data-agent={a.name}>
                  <td>
                    <strong>{a.name}</strong>
                  </td>
                  <td>{a.description ?? ''}</td>
                  <td class="num">{a.rpm === null ? '∞' : fmtInt(a.rpm)}</td>
                  <td class="wrap" data-testid="agent-limits">
                    {limitsOf(a) || <span class="muted">none</span>}
                    {a.contentMode && a.contentMode !== 'full' ? (
                      <>
                        {' '}
                        <Badge kind="info">content: {a.contentMode}</Badge>
                      </>
                    ) : null}
                  </td>
                  <td>{a.directiveVersion === null ? <span class="muted">none</span> : <a href={href('directives', a.name)}>v{a.directiveVersion}</a>}</td>
                  <td>{a.disabled ? <Badge kind="warn">disabled</Badge> : <Badge kind="ok">enabled</Badge>}</td>
                  <td>{fmtTime(a.createdAt)}</td>
                  <td class="actions">
                    {a.disabled ? (
                      <button type="button" onClick={() => void act(() => api(`/agents/${encodeURIComponent(a.name)}`, { method: 'PATCH', body: { disabled: false } }), agents.reload)}>
                        Enable
                      </button>
                    ) : (
                      <ConfirmButton
                        label="Disable"
                        confirm="Disable: refuse its requests"
                        onConfirm={() => act(() => api(`/agents/${encodeURIComponent(a.name)}`, { method: 'PATCH', body: { disabled: true } }), agents.reload)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>

      <Card
        title="Personal access tokens"
        actions={
          <>
            <select aria-label="PATs of agent" value={patAgent} onChange={(e) => setPatAgent((e.target as HTMLSelectElement).value)}>
              <option value="">all agents</option>
              {(agents.data?.data ?? []).map((a) => (
                <option value={a.name}>{a.name}</option>
              ))}
            </select>
          </>
        }
      >
        <CreatePat agents={(agents.data?.data ?? []).map((a) => a.name)} onCreated={pats.reload} />
        {pats.error ? <ErrorBox error={pats.error} what="PATs" /> : null}
        {pats.loading && <Loading what="PATs" />}
        {pats.data && pats.data.data.length === 0 && <Empty title="No PATs">Issue one above; the token is shown once.</Empty>}
        {pats.data && pats.data.data.length > 0 && (
          <table class="grid" data-testid="pats-table">
            <thead>
              <tr>
                <th>id</th>
                <th>prefix</th>
                <th>name</th>
                <th>agents</th>
                <th class="num">rpm</th>
                <th>created</th>
                <th>expires</th>
                <th>status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pats.data.data.map((p) => {
                const state = patState(p);
                return (
                  <tr key={p.id} data-pat-id={p.id}>
                    <td>
                      <Mono>{p.id}</Mono>
                    </td>
                    <td>
                      <Mono>{p.prefix}</Mono>
                    </td>
                    <td>{p.name ?? ''}</td>
                    <td>{p.agents.join(', ')}</td>
                    <td class="num">{p.rpm === null ? '∞' : fmtInt(p.rpm)}</td>
                    <td>{fmtTime(p.createdAt)}</td>
                    <td>{p.expiresAt ? fmtTime(p.expiresAt) : 'never'}</td>
                    <td>
                      <Badge kind={state === 'active' ? 'ok' : state === 'revoked' ? 'err' : 'warn'}>{state}</Badge>
                    </td>
                    <td class="actions">
                      {state !== 'revoked' && (
                        <ConfirmButton
                          label="Revoke"
                          confirm="Yes, revoke"
                          onConfirm={() => act(() => api(`/pats/${encodeURIComponent(p.id)}/revoke`, { method: 'POST', body: {} }), pats.reload)}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

function patState(p: Pat): 'active' | 'revoked' | 'expired' {
  if (p.revokedAt) return 'revoked';
  const exp = toDate(p.expiresAt);
  if (exp && exp.getTime() <= Date.now()) return 'expired';
  return 'active';
}

function CreateAgent({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [rpm, setRpm] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          await api('/agents', { method: 'POST', body: { name: name.trim(), description: description.trim() || undefined, rpm: rpm ? Number(rpm) : undefined } });
          setName('');
          setDescription('');
          setRpm('');
          onCreated();
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <input required placeholder="new agent name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-label="agent name" />
      <input placeholder="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} aria-label="description" />
      <input type="number" min={1} placeholder="rpm" class="narrow" value={rpm} onInput={(e) => setRpm((e.target as HTMLInputElement).value)} aria-label="rpm" />
      <button type="submit">Create agent</button>
      {error && <span class="form-error">{error}</span>}
    </form>
  );
}

function CreatePat({ agents, onCreated }: { agents: string[]; onCreated(): void }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [rpm, setRpm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<NewPat | null>(null);

  if (created) {
    return (
      <div class="new-token" data-testid="new-token">
        <strong>New token for {created.agents.join(', ')}: copy it now, it is not shown again.</strong>
        <div class="token-row">
          <Mono>{created.token}</Mono>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.token)}>
            Copy
          </button>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
        <div class="muted">
          id <Mono>{created.id}</Mono>, prefix <Mono>{created.prefix}</Mono>
          {created.expiresAt ? `, expires ${fmtTime(created.expiresAt)}` : ''}
        </div>
      </div>
    );
  }
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        if (chosen.length === 0) return setError('Pick at least one agent.');
        try {
          const pat = await api<NewPat>('/pats', {
            method: 'POST',
            body: { agents: chosen, name: name.trim() || undefined, expires: expires.trim() || undefined, rpm: rpm ? Number(rpm) : undefined },
          });
          setCreated(pat);
          setChosen([]);
          setName('');
          setExpires('');
          setRpm('');
          onCreated();
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <select
        multiple
        aria-label="agents of the new PAT"
        size={Math.min(4, Math.max(2, agents.length))}
        onChange={(e) => setChosen([...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value))}
      >
        {agents.map((a) => (
          <option value={a} selected={chosen.includes(a)}>
            {a}
          </option>
        ))}
      </select>
      <input placeholder="label" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-label="PAT label" />
      <input placeholder="expires (30d)" class="narrow" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} aria-label="expires" />
      <input type="number" min={1} placeholder="rpm" class="narrow" value={rpm} onInput={(e) => setRpm((e.target as HTMLInputElement).value)} aria-label="PAT rpm" />
      <button type="submit">Issue PAT</button>
      {error && <span class="form-error">{error}</span>}
    </form>
  );
}

/** The agent's token rate and budgets in one line (`ibex agent update` sets them), '' when none. */
function limitsOf(a: Agent): string {
  const parts: string[] = [];
  if (a.tpm != null) parts.push(`${fmtInt(a.tpm)} tokens/min`);
  for (const [value, unit] of [
    [a.budgetUsdDay, 'day'],
    [a.budgetUsdWeek, 'week'],
    [a.budgetUsdMonth, 'month'],
  ] as const) {
    if (value != null) parts.push(`${fmtUsd(value)}/${unit}`);
  }
  for (const [value, unit] of [
    [a.budgetTokensDay, 'day'],
    [a.budgetTokensWeek, 'week'],
    [a.budgetTokensMonth, 'month'],
  ] as const) {
    if (value != null) parts.push(`${fmtInt(value)} tokens/${unit}`);
  }
  if (parts.length && a.budgetFallbackModel) parts.push(`then ${a.budgetFallbackModel}`);
  return parts.join(' · ');
}
