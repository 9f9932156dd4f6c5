// The session ledger beyond plain chat (issue 15's exact replay, across issue 13's protocols and
// providers): an Anthropic Messages turn, a Responses turn, a turn served by the second target of a fallback chain, and
// a chat turn translated for an Anthropic model. For each, `sessions show --turn N --upstream` must say
// what the provider received and `sessions replay` must send it again byte for byte (the mocks record
// the bodies they get).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../../src/mock/server.js';
import { provision, type TestGateway } from '../helpers/gateway.js';
import { startYamlGateway } from '../helpers/providers.js';

const DIRECTIVE = 'You are the ledger-protocols directive.';

interface UpstreamView {
  route: string;
  upstreamPath: string;
  provider: string;
  servedModel: string;
  translated: boolean;
  body: string;
}

describe('exact replay across protocols, fallback and translation', () => {
  let oai: MockUpstream;
  let claude: MockUpstream;
  let down: MockUpstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    oai = await startMockUpstream();
    claude = await startMockUpstream({ protocol: 'anthropic' });
    down = await startMockUpstream({ faults: () => ({ fail: 500 }) });
    gw = await startYamlGateway(
      `
providers:
  oai:    { kind: openai, baseUrl: "${oai.url}" }
  claude: { kind: anthropic, baseUrl: "${claude.url}", keys: ["\${K_CLAUDE}"] }
  down:   { kind: openai, baseUrl: "${down.url}" }
models:
  sonnet: claude/claude-sonnet-4-5
  mini: oai/gpt-4o-mini
  chain: [down/gpt-4o, oai/gpt-4o-mini]
  dead: down/gpt-4o
retries: { perTarget: 0 }
`,
      { K_CLAUDE: 'sk-ant-ledger-0123456789abcdef' },
    );
    ({ token } = await provision(gw, 'ledgerx', { directive: DIRECTIVE }));
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([oai?.close(), claude?.close(), down?.close()]);
  });

  const post = async (path: string, body: object): Promise<{ session: string }> => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { session: res.headers.get('x-ibex-session')! };
  };

  const lastPost = (mock: MockUpstream): RecordedRequest => mock.stats.recent.filter((r) => r.method === 'POST').at(-1)!;

  const view = async (session: string): Promise<UpstreamView> => {
    for (let i = 0; ; i++) {
      const r = await gw.cli(['sessions', 'show', session, '--turn', '1', '--upstream', '--json'], { reject: false });
      if (r.exitCode === 0) return JSON.parse(r.stdout) as UpstreamView;
      if (i > 60) throw new Error(`no turn 1 in ${session}: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  const replay = async (session: string): Promise<void> => {
    const r = await gw.cli(['sessions', 'replay', session, '--turn', '1', '--url', gw.url, '--token', token, '--json']);
    expect((JSON.parse(r.stdout) as { status: number }).status).toBe(200);
  };

  it('Anthropic Messages: the view is the body Anthropic received, and a replay sends it again (the directive once)', async () => {
    const { session } = await post('/v1/messages', {
      model: 'sonnet',
      max_tokens: 64,
      system: 'Caller system text.',
      messages: [{ role: 'user', content: 'hello from messages' }],
    });
    const original = lastPost(claude).body!;
    expect((original.system as { text: string }[]).map((b) => b.text)).toEqual([DIRECTIVE, 'Caller system text.']);
    const v = await view(session);
    expect(v).toMatchObject({ route: '/v1/messages', upstreamPath: '/messages', provider: 'claude', translated: false });
    expect(v.body).toBe(JSON.stringify(original));

    await replay(session);
    // Byte for byte what the original turn sent: the recorded directive placed once, not twice.
    expect(JSON.stringify(lastPost(claude).body)).toBe(JSON.stringify(original));
  });

  it('Anthropic Messages without a system of its own: the replay has the directive alone, as the original', async () => {
    const { session } = await post('/v1/messages', { model: 'sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'no system here' }] });
    const original = lastPost(claude).body!;
    await view(session);
    await replay(session);
    expect(JSON.stringify(lastPost(claude).body)).toBe(JSON.stringify(original));
  });

  it('Responses: the view is the body the provider received, and a replay sends it again (the instructions once)', async () => {
    const { session } = await post('/v1/responses', { model: 'mini', instructions: 'Caller instructions.', input: 'hello from responses' });
    const original = lastPost(oai).body!;
    expect(String(original.instructions)).toContain(DIRECTIVE);
    const v = await view(session);
    expect(v).toMatchObject({ route: '/v1/responses', upstreamPath: '/responses', provider: 'oai', translated: false });
    expect(v.body).toBe(JSON.stringify(original));
    await replay(session);
    expect(JSON.stringify(lastPost(oai).body)).toBe(JSON.stringify(original));
  });

  it('a replayed turn that continued an earlier response is a new session: the original keeps its turns (native and translated)', async () => {
    const postJson = async (body: object) => {
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return { id: ((await res.json()) as { id: string }).id, session: res.headers.get('x-ibex-session')! };
    };
    for (const model of ['mini', 'sonnet']) {
      const first = await postJson({ model, input: `first turn (${model})` });
      const second = await postJson({ model, input: `second turn (${model})`, previous_response_id: first.id });
      expect(second.session).toBe(first.session);
      const turns = async () => {
        const shown = await gw.cli(['sessions', 'show', first.session, '--json'], { reject: false });
        return shown.exitCode === 0 ? (JSON.parse(shown.stdout) as { session: { turns: number } }).session.turns : 0;
      };
      await expect.poll(turns, { timeout: 5_000, interval: 50 }).toBe(2);
      const r = await gw.cli(['sessions', 'replay', first.session, '--turn', '2', '--url', gw.url, '--token', token, '--json']);
      const replayed = JSON.parse(r.stdout) as { status: number; session: string };
      expect(replayed.status).toBe(200);
      expect(replayed.session).not.toBe(first.session);
      // the replay's checkpoint lands in its own session; the original keeps its two turns
      await expect.poll(async () => (await gw.cli(['sessions', 'show', replayed.session], { reject: false })).exitCode, { timeout: 5_000, interval: 50 }).toBe(0);
      expect(await turns()).toBe(2);
    }
  });

  it('a fallback: the view is the body of the target that served, not of the one that failed', async () => {
    const { session } = await post('/v1/chat/completions', { model: 'chain', messages: [{ role: 'user', content: 'fall back' }] });
    const served = lastPost(oai).body!;
    expect(served.model).toBe('gpt-4o-mini');
    expect(lastPost(down).body!.model).toBe('gpt-4o');
    const v = await view(session);
    expect(v).toMatchObject({ provider: 'oai', servedModel: 'gpt-4o-mini', translated: false, route: '/v1/chat/completions' });
    expect(v.body).toBe(JSON.stringify(served));
  });

  it('a chat turn an Anthropic model served: the view says it was translated, and where it went; a replay sends the same Anthropic body', async () => {
    const { session } = await post('/v1/chat/completions', { model: 'sonnet', messages: [{ role: 'user', content: 'translate me' }] });
    const original = lastPost(claude).body!;
    const v = await view(session);
    expect(v).toMatchObject({ route: '/v1/chat/completions', upstreamPath: '/messages', provider: 'claude', translated: true });
    // The stored body is the caller's chat body with the directive (what replay sends), not Anthropic's.
    expect(JSON.parse(v.body)).toMatchObject({ model: 'sonnet', messages: [{ role: 'system', content: DIRECTIVE }, { role: 'user', content: 'translate me' }] });
    const plain = await gw.cli(['sessions', 'show', session, '--turn', '1', '--upstream']);
    expect(plain.stdout).toContain("before translation to the provider's /messages API");
    expect(plain.stdout).toContain('POST /v1/chat/completions → provider claude /messages');

    await replay(session);
    expect(JSON.stringify(lastPost(claude).body)).toBe(JSON.stringify(original));
  });

  it('a turn no target could serve describes the last one tried: its provider, model and path', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dead', max_tokens: 16, messages: [{ role: 'user', content: 'nobody home' }] }),
    });
    expect(res.status).toBe(502);
    const v = await view(res.headers.get('x-ibex-session')!);
    // An Anthropic request an OpenAI-kind provider was tried for: translated to its chat API.
    expect(v).toMatchObject({ route: '/v1/messages', provider: 'down', servedModel: 'gpt-4o', upstreamPath: '/chat/completions', translated: true });
  });
});
