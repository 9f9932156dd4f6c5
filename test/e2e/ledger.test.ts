// The session ledger through a real `ibex serve` (issue 15): exact upstream view, replay byte for byte
// (checked with the mock's echo), content modes, export streaming, prune.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { execa } from 'execa';
import { BIN, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import type { Checkpoint } from '../../src/stores/ports.js';

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('session ledger e2e', () => {
  let gw: TestGateway;
  let store: RelationalStores;
  const tokens: Record<string, string> = {};

  const chat = async (agent: string, body: object, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[agent]}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${text}\n${gw.output().slice(-2000)}`);
    return { status: res.statusCode, session: String(res.headers['x-ibex-session']), reply: (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content };
  };
  const turns = (sessionId: string, n: number) =>
    waitFor(async () => {
      const cps = await store.sessions.checkpoints(sessionId);
      return cps.length >= n ? cps : null;
    }, `${n} checkpoint(s) of ${sessionId}`);

  beforeAll(async () => {
    gw = await startTestGateway();
    tokens['ledger-full'] = (await provision(gw, 'ledger-full', { directive: 'DIRECTIVE-ONE' })).token;
    tokens['ledger-red'] = (await provision(gw, 'ledger-red', { directive: 'D' })).token;
    tokens['ledger-meta'] = (await provision(gw, 'ledger-meta')).token;
    // Before their first request, so no gateway cache holds the old mode.
    await gw.cli(['agent', 'update', 'ledger-red', '--content', 'redacted']);
    await gw.cli(['agent', 'update', 'ledger-meta', '--content', 'metadata']);
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
  });

  let sessionId = '';
  let originalReply = '';

  it('sessions show --turn N --upstream prints exactly the body the provider received', async () => {
    const first = await chat('ledger-full', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] });
    sessionId = first.session;
    const history = [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'two "quoted" ✓' },
    ];
    const second = await chat('ledger-full', { model: 'gpt-4o-mini', messages: history, temperature: 0.3, user: 'u-1' }, { 'x-ibex-session': sessionId });
    originalReply = second.reply;
    const received = gw.mock!.stats.recent.at(-1)!.body;
    await turns(sessionId, 2);

    const { stdout } = await gw.cli(['sessions', 'show', sessionId, '--turn', '2', '--upstream', '--json']);
    const view = JSON.parse(stdout) as { body: string; directive: string; directiveVersion: number; servedModel: string; route: string; messages: unknown[] };
    expect(view.body).toBe(JSON.stringify(received));
    expect(view).toMatchObject({ directive: 'DIRECTIVE-ONE', directiveVersion: 1, servedModel: 'gpt-4o-mini', route: '/v1/chat/completions' });
    expect(view.messages).toEqual([{ role: 'system', content: 'DIRECTIVE-ONE' }, ...history]);
    // the plain view and `sessions show` itself still work
    expect((await gw.cli(['sessions', 'show', sessionId, '--turn', '2', '--upstream'])).stdout).toContain('body (exact bytes sent upstream):');
    const shown = JSON.parse((await gw.cli(['sessions', 'show', sessionId, '--json'])).stdout) as { checkpoints: Checkpoint[] };
    expect(shown.checkpoints[1]!.messages).toEqual(view.messages);
    expect(shown.checkpoints[1]).not.toHaveProperty('upstreamTemplate');
  });

  it('sessions replay sends the same payload again: the echo is byte for byte the original, in a new session tagged as a replay', async () => {
    await gw.cli(['directive', 'set', 'ledger-full', '--text', 'DIRECTIVE-TWO']);
    const r = await gw.cli(['sessions', 'replay', sessionId, '--turn', '2', '--url', gw.url, '--token', tokens['ledger-full']!, '--json']);
    const out = JSON.parse(r.stdout) as { status: number; session: string; body: string };
    expect(out.status).toBe(200);
    expect(out.session).not.toBe(sessionId);
    const reply = (JSON.parse(out.body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    // the recorded directive version (1) is placed again, not the current one (2)
    expect(reply).toBe(originalReply);
    const [replayed] = await turns(out.session, 1);
    expect(replayed!.replayOf).toBe(`${sessionId}:2`);

    // --directive-version and --model change exactly that
    const v2 = JSON.parse(
      (await gw.cli(['sessions', 'replay', sessionId, '--turn', '2', '--directive-version', '2', '--model', 'gpt-4o', '--url', gw.url, '--token', tokens['ledger-full']!, '--json'])).stdout,
    ) as { body: string; session: string };
    const body = JSON.parse(v2.body) as { model: string; choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe(originalReply.replace('DIRECTIVE-ONE', 'DIRECTIVE-TWO'));
    const upstream = gw.mock!.stats.recent.at(-1)!.body!;
    expect(upstream.model).toBe('gpt-4o');
  });

  it('X-Ibex-Directive-Version is honoured only on replays', async () => {
    const r = await chat('ledger-full', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { 'x-ibex-directive-version': '1' });
    expect(r.reply).toContain('DIRECTIVE-TWO');
  });

  it('content modes: redacted masks before storing, metadata stores no content; the provider gets the request unchanged', async () => {
    const secret = 'write to jane.doe@example.com with key sk-abcdefghijklmnopqrstuvwxyz012345';
    const red = await chat('ledger-red', { model: 'm', messages: [{ role: 'user', content: secret }] });
    expect(red.reply).toContain('jane.doe@example.com');
    const [rc] = await turns(red.session, 1);
    expect(JSON.stringify(rc!.messages)).not.toContain('example.com');
    expect(JSON.stringify(rc!.messages)).toContain('[REDACTED_EMAIL]');
    expect(rc!.reply).not.toContain('example.com');
    expect(rc!.contentMode).toBe('redacted');

    const meta = await chat('ledger-meta', { model: 'm', messages: [{ role: 'user', content: secret }, { role: 'user', content: 'b' }] });
    const [mc] = await turns(meta.session, 1);
    expect(mc).toMatchObject({ messages: [], reply: null, contentMode: 'metadata', messageCount: 2, status: 'ok' });
    expect(mc!.usage).not.toBeNull();
  });

  it('sessions export streams JSONL and the OpenAI fine-tuning format', async () => {
    const jsonl = (await gw.cli(['sessions', 'export', '--agent', 'ledger-full', '--since', '1d'])).stdout.trim().split('\n');
    const rows = jsonl.map((l) => JSON.parse(l) as Checkpoint);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.every((r) => r.agent === 'ledger-full')).toBe(true);
    const ft = (await gw.cli(['sessions', 'export', '--agent', 'ledger-full', '--format', 'openai-finetune'])).stdout.trim().split('\n');
    const first = JSON.parse(ft[0]!) as { messages: { role: string; content: string }[] };
    expect(first.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(first.messages[2]!.content.startsWith('echo:')).toBe(true);
    const bad = await gw.cli(['sessions', 'export', '--format', 'csv'], { reject: false });
    expect(bad.exitCode).toBe(2);
  });

  it('ibex prune: --dry-run counts, a real run deletes; sessions kept without a retention setting', async () => {
    const ancient = Date.now() - 400 * 86_400_000;
    await store.sessions.appendCheckpoints([
      {
        sessionId: 'ses_ancient_ledger', agent: 'ledger-full', patId: 'p', requestId: 'req-ancient', clientRequestId: null, model: 'm',
        directiveVersion: null, messages: [{ role: 'user', content: 'very old' }], reply: 'r', finishReason: 'stop', usage: null, costUsd: null,
        status: 'ok', errorCode: null, stream: false, createdAt: ancient,
      },
    ]);
    const prune = async (args: string[], env: Record<string, string> = {}) =>
      JSON.parse((await execa('node', [BIN, 'prune', '--json', ...args], { env: { ...gw.env, ...env } })).stdout) as {
        counts: Record<string, number>;
        sessions: string;
      };
    const kept = await prune([]);
    expect(kept.sessions).toBe('forever');
    expect(kept.counts.sessions).toBeUndefined();
    const dry = await prune(['--dry-run'], { IBEX_SESSION_RETENTION: '90d' });
    expect(dry.counts).toMatchObject({ sessions: 1, checkpoints: 1 });
    expect(await store.sessions.getSession('ses_ancient_ledger')).not.toBeNull();
    const real = await prune([], { IBEX_SESSION_RETENTION: '90d' });
    expect(real.counts).toMatchObject({ sessions: 1, checkpoints: 1, message_sessions: 1, messages: 1 });
    expect(await store.sessions.getSession('ses_ancient_ledger')).toBeNull();
    expect(await store.sessions.getSession(sessionId)).not.toBeNull();
  });
});
