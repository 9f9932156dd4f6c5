// Real clients in their default modes against a built gateway (issues 12 and 13): the official
// `openai` and `@anthropic-ai/sdk` SDKs, the Vercel AI SDK's default `openai(...)` provider and the
// OpenAI Agents SDK, each run as a child process (test/clients/*.mjs, see test/helpers/clients.ts)
// → `ibex serve` → the mock upstream. Every check must pass, and wherever the reply is the mock's
// echo of a conversation, the agent's directive must be the first thing the upstream received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';
import { firstInstruction, NEEDS_NODE22, NODE22, runClient, upstreamSaw, type CheckLine, type ClientName } from '../helpers/clients.js';

// Checks whose route or mock behaviour has not landed yet, as `client:check`. They are reported as
// todo and not run. Empty this list as the pieces land; the file must then pass as is.
const PENDING = new Set<string>([
]);

const DIRECTIVE = 'You are the clients-matrix directive.';
const AGENT = 'clients';

/**
 * What each check's detail must show. `directive`: the reply is the mock's echo of the request, and
 * the directive came first in it. `caller`: the caller's own system text / instructions, which must
 * still be there, after the directive. `none`: no conversation to look at (models, embeddings,
 * token counts, or a legacy completions prompt, which carries no directive).
 */
type Expectation = { echo: 'directive'; caller?: string } | { echo: 'none' };
const DIRECTIVE_FIRST: Expectation = { echo: 'directive' };
const NONE: Expectation = { echo: 'none' };

const MATRIX: Record<ClientName, Record<string, Expectation>> = {
  'openai-sdk': {
    'chat.completions': { echo: 'directive', caller: 'caller system' },
    'chat.completions.stream': DIRECTIVE_FIRST,
    'chat.completions.tools': DIRECTIVE_FIRST,
    'chat.completions.tools.stream': DIRECTIVE_FIRST,
    'responses.create': { echo: 'directive', caller: 'caller instructions' },
    'responses.stream': DIRECTIVE_FIRST,
    'responses.tools': DIRECTIVE_FIRST,
    'responses.tools.stateless': DIRECTIVE_FIRST,
    'responses.previous_response_id': DIRECTIVE_FIRST,
    'responses.parse': NONE,
    'embeddings.float': NONE,
    'embeddings.base64': NONE,
    completions: NONE,
    'completions.stream': NONE,
    'models.retrieve': NONE,
    'models.list': NONE,
  },
  'anthropic-sdk': {
    'messages.create': { echo: 'directive', caller: 'caller system' },
    'messages.stream': DIRECTIVE_FIRST,
    'messages.tools': DIRECTIVE_FIRST,
    'messages.countTokens': NONE,
  },
  'ai-sdk': {
    generateText: { echo: 'directive', caller: 'caller system' },
    streamText: DIRECTIVE_FIRST,
    'generateText.tools': DIRECTIVE_FIRST,
    'streamText.tools': DIRECTIVE_FIRST,
    generateObject: NONE,
    'generateText.output': NONE,
    'chat.generateText': { echo: 'directive', caller: 'caller system' },
    'chat.streamText.tools': DIRECTIVE_FIRST,
  },
  'openai-agents': {
    run: { echo: 'directive', caller: 'caller instructions' },
    'run.tools': { echo: 'directive', caller: 'caller instructions' },
    'run.stream': { echo: 'directive', caller: 'caller instructions' },
  },
};

function failure(line: CheckLine | undefined): string {
  return line ? `${line.client}:${line.check} failed after ${line.ms} ms: ${line.error}` : 'the check printed no line';
}

function expectDirectiveFirst(line: CheckLine, expectation: Expectation): void {
  if (expectation.echo === 'none') return;
  const text = line.detail?.text;
  expect(typeof text, `${line.check}: no reply text in ${JSON.stringify(line.detail)}`).toBe('string');
  const echo = upstreamSaw(text!);
  const first = firstInstruction(echo);
  expect(first?.startsWith(DIRECTIVE), `${line.check}: the upstream did not get the directive first: ${text!.slice(0, 300)}`).toBe(true);
  if (expectation.caller) {
    // In the echo's JSON, the caller's own text must survive and come after the directive.
    const at = text!.indexOf(expectation.caller);
    expect(at, `${line.check}: the caller's "${expectation.caller}" is missing upstream: ${text!.slice(0, 300)}`).toBeGreaterThan(text!.indexOf(DIRECTIVE));
  }
}

/**
 * The OpenAI-speaking clients with every model served by an Anthropic provider: what they send is
 * translated to Messages and the replies back (issue 11). Left out: what has no Anthropic
 * counterpart and is refused with a 400 by design (embeddings, legacy completions).
 */
const OPENAI_CLIENTS_ON_ANTHROPIC: Partial<Record<ClientName, Record<string, Expectation>>> = {
  'openai-sdk': Object.fromEntries(Object.entries(MATRIX['openai-sdk']).filter(([check]) => !/^(embeddings|completions)/.test(check))),
  'ai-sdk': MATRIX['ai-sdk'],
  'openai-agents': MATRIX['openai-agents'],
};

describe('real clients → ibex serve → mock upstream', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ token } = await provision(gw, AGENT, { directive: DIRECTIVE }));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  clientChecks(MATRIX, () => ({ url: gw.url, token }));
});

describe('real OpenAI clients → ibex serve → an Anthropic provider (translated)', () => {
  let gw: TestGateway;
  let token: string;
  let claude: MockUpstream;
  let dir: string;

  beforeAll(async () => {
    claude = await startMockUpstream({ port: 0, protocol: 'anthropic' });
    dir = mkdtempSync(join(tmpdir(), 'ibex-matrix-anthropic-'));
    // The only provider: every model name the clients default to is served by it.
    // gpt-4o-mini (the OpenAI SDK's checks) by name, as a deployment would list it; the rest by the first provider
    const yaml = [
      'providers:',
      `  claude: { kind: anthropic, baseUrl: "${claude.url.replace(/\/v1$/, '')}", keys: ["\${MATRIX_ANTHROPIC_KEY}"] }`,
      'models:',
      '  gpt-4o-mini: claude/claude-sonnet-4-5',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'ibex.yaml'), yaml);
    gw = await startTestGateway({ mock: false, env: { IBEX_CONFIG: join(dir, 'ibex.yaml'), MATRIX_ANTHROPIC_KEY: 'sk-ant-matrix' } });
    ({ token } = await provision(gw, AGENT, { directive: DIRECTIVE }));
  });

  afterAll(async () => {
    await gw?.stop();
    await claude?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conversations = clientChecks(OPENAI_CLIENTS_ON_ANTHROPIC, () => ({ url: gw.url, token }));

  it('every model call of the clients reached the Anthropic provider as Messages', () => {
    const calls = claude.stats.recent.filter((r) => r.path === '/v1/messages');
    // at least one per conversation check of the clients that ran (a tool round trip makes two)
    expect(conversations).toBeGreaterThan(5);
    expect(calls.length).toBeGreaterThanOrEqual(conversations);
    // the OpenAI SDK's gpt-4o-mini went by its ibex.yaml name to the Claude model it names
    expect(calls.some((r) => r.body?.model === 'claude-sonnet-4-5')).toBe(true);
  });
});

/**
 * One describe per client of `matrix`, its checks run once (one child process) against the gateway
 * `target()` names. Returns how many of the checks that run are conversations (a model call each).
 */
function clientChecks(matrix: Partial<Record<ClientName, Record<string, Expectation>>>, target: () => { url: string; token: string }): number {
  let conversations = 0;
  for (const [client, checks] of Object.entries(matrix) as [ClientName, Record<string, Expectation>][]) {
    // The Node-22 clients live in their own install (test/clients): missing locally → skipped with the
    // reason; in CI (.ci/run installs them) a missing install fails.
    const missing = NEEDS_NODE22.has(client) && !existsSync(NODE22) ? `${NODE22} is missing: npm ci --prefix test/clients` : null;
    if (missing && process.env.CI !== 'true') {
      describe.skip(`${client} (${missing})`, () => {});
      continue;
    }
    const active = Object.keys(checks).filter((check) => !PENDING.has(`${client}:${check}`));
    conversations += active.filter((check) => checks[check]!.echo === 'directive').length;
    describe(client, () => {
      let lines: CheckLine[] = [];

      beforeAll(async () => {
        if (active.length === 0) return;
        const { url, token } = target();
        lines = await runClient(client, { BASE_URL: url, API_KEY: token, IBEX_AGENT: AGENT, CHECKS: active.join(',') });
      }, 120_000);

      if (active.length > 0) {
        it('runs exactly the listed checks', () => {
          expect(lines.map((l) => l.check).sort()).toEqual([...active].sort());
        });
      }

      for (const [check, expectation] of Object.entries(checks)) {
        if (PENDING.has(`${client}:${check}`)) {
          it.todo(`${check} (pending: route or mock behaviour not landed)`);
          continue;
        }
        it(check, () => {
          const line = lines.find((l) => l.check === check);
          expect(line?.ok, failure(line)).toBe(true);
          expectDirectiveFirst(line!, expectation);
        });
      }
    });
  }
  return conversations;
}
