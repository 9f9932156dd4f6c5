// Usage: requests, tokens and cost grouped by agent, model, day, PAT or provider (GET /admin/v1/usage).
import { useState } from 'preact/hooks';
import { BarList } from '../components/charts';
import { Card, Empty, ErrorBox, Loading } from '../components/states';
import { fmtInt, fmtUsd } from '../format';
import type { UsageRow } from '../types';
import { useApi } from '../use-api';

const GROUPS = ['agent', 'model', 'day', 'pat', 'provider'] as const;
const SINCE = ['1d', '7d', '30d'];

export function UsagePage() {
  const [by, setBy] = useState<string>('agent');
  const [since, setSince] = useState('7d');
  const res = useApi<{ by: string; since: string; rows: UsageRow[] }>('/usage', { by, since });
  const rows = res.data?.rows ?? [];
  const hasCost = rows.some((r) => typeof r.costUsd === 'number');
  return (
    <div class="page">
      <div class="page-head">
        <h1>Usage</h1>
        <div class="segmented" role="group" aria-label="group by">
          {GROUPS.map((g) => (
            <button type="button" class={g === by ? 'on' : ''} onClick={() => setBy(g)}>
              by {g}
            </button>
          ))}
        </div>
        <select aria-label="since" value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value)}>
          {SINCE.map((s) => (
            <option value={s}>last {s}</option>
          ))}
        </select>
      </div>
      {res.error ? <ErrorBox error={res.error} what="usage" /> : null}
      {res.loading && <Loading what="usage" />}
      {res.data && rows.length === 0 && <Empty title={`No usage in the last ${since}`} />}
      {rows.length > 0 && (
        <>
          <Card title={hasCost ? 'Cost' : 'Requests'}>
            <BarList
              items={(by === 'day' ? [...rows].sort((a, b) => (a.key ?? '').localeCompare(b.key ?? '')) : rows).slice(0, 15).map((r) => ({ label: r.key ?? '(none)', value: hasCost ? (r.costUsd ?? 0) : r.requests }))}
              format={hasCost ? fmtUsd : fmtInt}
            />
          </Card>
          <table class="grid" data-testid="usage-table">
            <thead>
              <tr>
                <th>{by}</th>
                <th class="num">requests</th>
                <th class="num">prompt tokens</th>
                <th class="num">completion tokens</th>
                <th class="num">cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td class={by === 'pat' ? 'mono' : ''}>{r.key ?? '(none)'}</td>
                  <td class="num">{fmtInt(r.requests)}</td>
                  <td class="num">{fmtInt(r.promptTokens)}</td>
                  <td class="num">{fmtInt(r.completionTokens)}</td>
                  <td class="num">{fmtUsd(r.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
