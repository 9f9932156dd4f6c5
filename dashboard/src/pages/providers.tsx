// Providers: each upstream's health and its key pool (GET /admin/v1/providers; keys arrive masked).
import { Badge, Card, Empty, ErrorBox, Loading, Mono } from '../components/states';
import { fmtInt, fmtPct, fmtTime, toDate } from '../format';
import type { Provider } from '../types';
import { useApi } from '../use-api';

export function ProvidersPage() {
  const res = useApi<{ providers: Provider[] }>('/providers', undefined, 10_000);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Providers</h1>
      </div>
      {res.error ? <ErrorBox error={res.error} what="providers" /> : null}
      {res.loading && <Loading what="providers" />}
      {res.data && res.data.providers.length === 0 && <Empty title="No providers configured">Set IBEX_UPSTREAM_URL or add providers to ibex.yaml.</Empty>}
      {res.data?.providers.map((p) => {
        const errRate = p.health.requests ? p.health.errors / p.health.requests : 0;
        return (
          <Card
            title={p.id}
            actions={
              <>
                <Badge kind="info">{p.kind}</Badge>
                <Badge kind={errRate > 0.2 ? 'err' : errRate > 0 ? 'warn' : 'ok'}>{fmtPct(errRate)} errors</Badge>
              </>
            }
          >
            <dl class="kv wide" data-testid="provider" data-provider={p.id}>
              <dt>base URL</dt>
              <dd>
                <Mono>{p.baseUrl}</Mono>
              </dd>
              <dt>key strategy</dt>
              <dd>{p.keyStrategy}</dd>
              <dt>requests / errors</dt>
              <dd>
                {fmtInt(p.health.requests)} / {fmtInt(p.health.errors)}
              </dd>
              <dt>last success</dt>
              <dd>{fmtTime(p.health.lastSuccessAt)}</dd>
              <dt>last error</dt>
              <dd>
                {p.health.lastError ? (
                  <>
                    {fmtTime(p.health.lastError.at)} <Mono>{p.health.lastError.message}</Mono>
                  </>
                ) : (
                  'none'
                )}
              </dd>
              <dt>circuit breakers</dt>
              <dd data-testid="breakers">
                {p.health.breakers?.length
                  ? p.health.breakers.map((b) => (
                      <div>
                        <Mono>{b.model}</Mono>{' '}
                        {b.state === 'open' ? <Badge kind="err">open until {fmtTime(b.openUntil)}: tried last</Badge> : <Badge kind="ok">closed</Badge>}{' '}
                        {fmtInt(b.consecutiveFailures)} failures in a row, opened {fmtInt(b.opened)}×
                      </div>
                    ))
                  : 'none tripped'}
              </dd>
            </dl>
            <table class="grid">
              <thead>
                <tr>
                  <th>key</th>
                  <th>state</th>
                  <th class="num">uses</th>
                  <th class="num">cooldowns</th>
                  <th>cooling until</th>
                </tr>
              </thead>
              <tbody>
                {p.keys.map((k) => {
                  const cooling = (toDate(k.coolingUntil)?.getTime() ?? 0) > Date.now();
                  return (
                    <tr>
                      <td>
                        <Mono>{k.key}</Mono>
                      </td>
                      <td>{cooling ? <Badge kind="warn">cooling</Badge> : <Badge kind="ok">ready</Badge>}</td>
                      <td class="num">{fmtInt(k.uses)}</td>
                      <td class="num">{fmtInt(k.cooldowns)}</td>
                      <td>{cooling ? fmtTime(k.coolingUntil) : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </Card>
        );
      })}
    </div>
  );
}
