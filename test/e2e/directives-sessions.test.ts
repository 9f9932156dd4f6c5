// Directives, injection, sessions and checkpoints through a real `ibex serve`, checked via the mock's
// echo of what it received and by reading the gateway's own SQLite store.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { echoed, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import type { RecordedRequest } from '../../src/mock/server.js';

function faults(req: RecordedRequest) {
  const msgs = (req.body?.messages ?? []) as { content?: unknown }[];
  const last = String(msgs[msgs.length - 1]?.content ?? '');
  if (last === 'please fail') return { fail: 500 };
  if (last === 'slow stream') return { chunks: 40, chunkIntervalMs: 50 };
  return undefined;
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('directives and sessions e2e', () => {
  let gw: TestGateway;
  let token: string;
  let store: RelationalStores;

  const chat = (body: object, headers: Record<string, string> = {}) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
    });
  const chatJson = async (body: object, headers: Record<string, string> = {}) => {
    const res = await chat(body, headers);
    const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
    return { res, json, upstream: echoed(json.choices[0]!.message.content) };
  };

  beforeAll(async () => {
    gw = await startTestGateway({ mock: { faults, chunks: 3 } });
    ({ token } = await provision(gw, 'sess', { directive: 'DIRECTIVE-V1' }));
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  });
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
  });

  describe('injection order', () => {
    it('no caller system message: directive, then the caller messages', async () => {
      const { upstream } = await chatJson({ messages: [{ role: 'user', content: 'hi' }] });
      expect(upstream).toEqual([
        { role: 'system', content: 'DIRECTIVE-V1' },
        { role: 'user', content: 'hi' },
      ]);
    });

    it('several caller system messages stay after the directive, in order', async () => {
      const msgs = [
        { role: 'system', content: 's1' },
        { role: 'user', content: 'u1' },
        { role: 'system', content: 's2' },
        { role: 'user', content: 'u2' },
      ];
      const { upstream } = await chatJson({ messages: msgs });
      expect(upstream).toEqual([{ role: 'system', content: 'DIRECTIVE-V1' }, ...msgs]);
    });

    it('content parts, tool calls and tool messages pass through untouched', async () => {
      const msgs = [
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
        { role: 'user', content: 'and?' },
      ];
      const { upstream } = await chatJson({
        messages: msgs,
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      });
      expect(upstream).toEqual([{ role: 'system', content: 'DIRECTIVE-V1' }, ...msgs]);
      const received = gw.mock!.stats.lastRequest!.body as { tools: unknown[] };
      expect(received.tools).toHaveLength(1);
    });

    it('empty messages → 400 and nothing forwarded', async () => {
      const before = gw.mock!.stats.requests;
      const res = await chat({ messages: [] });
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      expect(gw.mock!.stats.requests).toBe(before);
    });
  });

  it('a directive set by the CLI while serve runs is used within 2 s', async () => {
    const t0 = Date.now();
    await gw.cli(['directive', 'set', 'sess', '--text', 'DIRECTIVE-V2']);
    const { value, ms } = await waitFor(
      async () => {
        const { res, upstream } = await chatJson({ messages: [{ role: 'user', content: 'which?' }] });
        return upstream[0]!.content === 'DIRECTIVE-V2' && res.headers['x-ibex-directive-version'] === '2' ? true : null;
      },
      2000,
      'directive v2 in use',
    );
    expect(value).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500); // includes the CLI process start
    expect(ms).toBeLessThan(2000);
  });

  it('checkpoints of a non-streaming, a streaming, an upstream-failed and a client-aborted request', async () => {
    const sid = 'ses-checkpoints-1';
    const h = { 'x-ibex-session': sid };
    const ok = await chatJson({ messages: [{ role: 'user', content: 'first' }] }, h);
    expect(ok.res.headers['x-ibex-session']).toBe(sid);

    const streamed = await chat({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'second' }] }, h);
    const sse = await streamed.body.text();
    expect(sse).toContain('[DONE]');

    const failed = await chat({ messages: [{ role: 'user', content: 'please fail' }] }, h);
    expect(failed.statusCode).toBe(502);
    await failed.body.dump();

    const ac = new AbortController();
    const aborted = await chat({ stream: true, messages: [{ role: 'user', content: 'slow stream' }] }, h);
    const reader = aborted.body;
    await new Promise<void>((resolve) => reader.once('data', () => resolve()));
    reader.destroy();
    ac.abort();

    const { value: cps } = await waitFor(
      async () => {
        const c = await store.sessions.checkpoints(sid);
        return c.length >= 4 ? c : null;
      },
      3000,
      '4 checkpoints',
    );
    expect(cps.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    const [c1, c2, c3, c4] = cps;
    expect(c1).toMatchObject({ status: 'ok', stream: false, model: 'gpt-4o-mini', directiveVersion: 2, finishReason: 'stop' });
    expect(c1!.messages).toEqual([
      { role: 'system', content: 'DIRECTIVE-V2' },
      { role: 'user', content: 'first' },
    ]);
    expect(c1!.reply).toBe(ok.json.choices[0]!.message.content);
    expect(c1!.usage?.totalTokens).toBeGreaterThan(0);
    expect(c1!.requestId).toBe(ok.res.headers['x-request-id']);

    expect(c2).toMatchObject({ status: 'ok', stream: true, finishReason: 'stop' });
    expect(echoed(c2!.reply!)).toEqual([
      { role: 'system', content: 'DIRECTIVE-V2' },
      { role: 'user', content: 'second' },
    ]);
    expect(c2!.usage?.totalTokens).toBeGreaterThan(0);

    expect(c3).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error', reply: null });
    expect(c4).toMatchObject({ status: 'client_aborted', stream: true });

    const session = await store.sessions.getSession(sid);
    expect(session).toMatchObject({ id: sid, agent: 'sess', turns: 4 });
    expect(session!.totalTokens).toBe((c1!.usage?.totalTokens ?? 0) + (c2!.usage?.totalTokens ?? 0));
  });

  it('every request leaves a trace within 500 ms (ok, streaming, failed, rejected)', async () => {
    const ok = await chat({ messages: [{ role: 'user', content: 'trace me' }] });
    await ok.body.dump();
    const st = await chat({ stream: true, messages: [{ role: 'user', content: 'trace stream' }] });
    await st.body.dump();
    const failed = await chat({ messages: [{ role: 'user', content: 'please fail' }] });
    await failed.body.dump();
    const rejected = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await rejected.body.dump();
    const ids = [ok, st, failed, rejected].map((r) => String(r.headers['x-request-id']));
    const done = Date.now();
    const { ms } = await waitFor(
      async () => {
        const traces = await store.traces.list({ limit: 200 });
        const found = ids.map((id) => traces.find((t) => t.requestId === id));
        return found.every(Boolean) ? found : null;
      },
      500,
      'four traces',
    );
    expect(Date.now() - done).toBeLessThanOrEqual(600);
    expect(ms).toBeLessThanOrEqual(500);
    const traces = await store.traces.list({ limit: 200 });
    const byId = (id: string) => traces.find((t) => t.requestId === id)!;
    expect(byId(ids[0]!)).toMatchObject({ status: 200, stream: false, agent: 'sess', provider: 'openai', errorCode: null });
    expect(byId(ids[0]!).overheadMs).toBeGreaterThanOrEqual(0);
    expect(byId(ids[0]!).stages).toHaveProperty('auth');
    expect(byId(ids[1]!)).toMatchObject({ status: 200, stream: true });
    expect(byId(ids[2]!)).toMatchObject({ status: 502, errorCode: 'upstream_error' });
    expect(byId(ids[3]!)).toMatchObject({ status: 401, errorCode: 'invalid_api_key', agent: null });
  });
});

describe('shutdown right after requests loses no checkpoint or trace', () => {
  it('SIGTERM with requests just answered: all stored, exit 0', async () => {
    const gw = await startTestGateway({ mock: { latencyMs: 20 } });
    const { token } = await provision(gw, 'shut');
    const N = 40;
    const sid = 'ses-shutdown';
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        request(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': sid },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
        }).then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        }),
      ),
    );
    expect(results.every((s) => s === 200)).toBe(true);
    const { exitCode } = await stopKeepingHome(gw);
    expect(exitCode).toBe(0);
    const store = await openSqliteStores(join(gw.home, 'ibex.db'));
    try {
      expect((await store.sessions.checkpoints(sid)).length).toBe(N);
      expect((await store.traces.list({ sessionId: sid, limit: 1000 })).length).toBe(N);
    } finally {
      await store.close();
    }
  });
});

async function stopKeepingHome(gw: TestGateway) {
  gw.proc.kill('SIGTERM');
  const r = await gw.proc;
  await gw.mock?.close();
  return { exitCode: r.exitCode };
}
