// The circuit breaker through a real `ibex serve` (ibex.yaml `circuit`): a fallback target whose
// provider refuses connections is tried first until it failed `failures` times in a row; then, for the
// cooldown, the chain's next target serves without the dead one being tried at all (no attempt in the
// trace, nothing waited); `ibex providers --json` shows the open breaker; after the cooldown one more
// failure opens it again at once. Another model of the same provider is not affected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';
import { provision, type TestGateway } from '../helpers/gateway.js';
import { chat, closedPort, startYamlGateway } from '../helpers/providers.js';
import { join } from 'node:path';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

// Long enough for the CLI call (≈ 0.6 s, more on a loaded machine) that checks a breaker while it is open.
const COOLDOWN_MS = 6000;

describe('circuit breaker: a failing target goes last in its chain for the cooldown', () => {
  let good: MockUpstream;
  let flaky: MockUpstream;
  let gw: TestGateway;
  let token: string;
  let store: RelationalStores;

  beforeAll(async () => {
    good = await startMockUpstream();
    // Answers 503 for gpt-4o, serves gpt-4o-mini.
    flaky = await startMockUpstream({ faults: (r) => (r.body?.model === 'gpt-4o' ? { fail: 503 } : undefined) });
    const dead = await closedPort();
    gw = await startYamlGateway(`
providers:
  dead:  { kind: openai, baseUrl: "http://127.0.0.1:${dead}/v1" }
  flaky: { kind: openai, baseUrl: "${flaky.url}" }
  good:  { kind: openai, baseUrl: "${good.url}" }
models:
  chain: [dead/gpt-4o-mini, good/gpt-4o-mini]
  big:   [flaky/gpt-4o, good/gpt-4o]
  small: [flaky/gpt-4o-mini, good/gpt-4o-mini]
retries: { perTarget: 0 }
circuit: { failures: 2, cooldown: ${COOLDOWN_MS}ms }
`);
    ({ token } = await provision(gw, 'circuit'));
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await gw?.stop();
    await Promise.all([good?.close(), flaky?.close()]);
  });

  const traceOf = async (requestId: string) => {
    for (let i = 0; ; i++) {
      const [t] = await store.traces.list({ requestId });
      if (t) return t;
      if (i > 100) throw new Error(`no trace for ${requestId}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const attemptsOf = async (model: string): Promise<string[]> => {
    const r = await chat(gw, token, model);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ibex-provider')).toBe('good');
    return ((await traceOf(r.headers.get('x-request-id')!)).attempts ?? []).map((a) => `${a.provider}/${a.model}`);
  };
  const breakers = async (provider: string) => {
    const view = JSON.parse((await gw.cli(['providers', '--url', gw.url, '--json'])).stdout) as {
      providers: { id: string; health: { breakers: { model: string; state: string; openUntil: string | null; opened: number }[] } }[];
    };
    return view.providers.find((p) => p.id === provider)!.health.breakers;
  };

  it('a refused connection: tried until it failed twice, then skipped to the end; after the cooldown tried once, opened again', async () => {
    expect(await attemptsOf('chain')).toEqual(['dead/gpt-4o-mini']);
    expect(await attemptsOf('chain')).toEqual(['dead/gpt-4o-mini']);
    // open: the healthy target serves first, the dead one is not even tried
    expect(await attemptsOf('chain')).toEqual([]);
    expect(await attemptsOf('chain')).toEqual([]);
    const open = await breakers('dead');
    expect(open).toMatchObject([{ model: 'gpt-4o-mini', state: 'open', opened: 1 }]);
    const until = Date.parse(open[0]!.openUntil!);
    expect(until).toBeGreaterThan(Date.now());
    await new Promise((r) => setTimeout(r, until - Date.now() + 100));
    // the cooldown is over: tried again, and one failure opens it again
    expect(await attemptsOf('chain')).toEqual(['dead/gpt-4o-mini']);
    expect(await attemptsOf('chain')).toEqual([]);
    expect(await breakers('dead')).toMatchObject([{ model: 'gpt-4o-mini', state: 'open', opened: 2 }]);
  });

  it("per target: a provider's failing model goes last, its healthy model keeps serving first", async () => {
    expect(await attemptsOf('big')).toEqual(['flaky/gpt-4o']);
    expect(await attemptsOf('big')).toEqual(['flaky/gpt-4o']);
    expect(await attemptsOf('big')).toEqual([]);
    const r = await chat(gw, token, 'small');
    expect(r.headers.get('x-ibex-provider')).toBe('flaky');
    expect((await breakers('flaky')).map((b) => `${b.model} ${b.state}`)).toEqual(['gpt-4o open']);
  });

  it('`ibex providers` names the open circuits; /metrics counts them per provider', async () => {
    const table = (await gw.cli(['providers', '--url', gw.url])).stdout;
    expect(table).toMatch(/OPEN CIRCUITS/);
    expect(table).toMatch(/gpt-4o \(\d+s\)/);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/^ibex_provider_open_circuits\{provider="flaky"\} 1$/m);
    expect(metrics).toMatch(/^ibex_provider_open_circuits\{provider="good"\} 0$/m);
  });
});
