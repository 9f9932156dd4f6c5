// Issue 11, items 5 and 8 through a real `ibex serve`: an upstream answer is checked, not trusted, and
// the gateway's key never reaches a caller or a checkpoint through a successful answer either.
// A hand-written hostile upstream answers according to the last user message:
//   200 with HTML / an empty body / `null` / broken JSON / a JSON array, 204, 302, a body over the
//   gateway's IBEX_MAX_RESPONSE_BYTES (plain and gzip), a stream without `data: [DONE]`, and
//   successful answers (JSON and SSE) that quote the Authorization header they received.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { provision, startTestGateway, UPSTREAM_KEY, type TestGateway } from '../helpers/gateway.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import type { Checkpoint, Trace } from '../../src/stores/ports.js';

const MAX_RESPONSE_BYTES = 64 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const completion = (content: string) =>
  JSON.stringify({
    id: 'chatcmpl-h',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
const chunk = (content: string | null, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] })}\n\n`;

async function answer(kind: string, auth: string, res: http.ServerResponse): Promise<void> {
  const json = { 'content-type': 'application/json' };
  switch (kind) {
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway (nginx)</body></html>');
      return;
    case 'empty':
      res.writeHead(200, json).end();
      return;
    case 'null':
      res.writeHead(200, json).end('null');
      return;
    case 'broken':
      res.writeHead(200, json).end('{"choices":[{"message":');
      return;
    case 'array':
      res.writeHead(200, json).end('[{"choices":[]}]');
      return;
    case 'no-content':
      res.writeHead(204).end();
      return;
    case 'redirect':
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
      return;
    case 'huge':
      res.writeHead(200, json).end(completion('x'.repeat(4 * MAX_RESPONSE_BYTES)));
      return;
    case 'huge-gzip': // 256 KiB decoded from ~1 KiB on the wire: the bound counts decoded bytes
      res.writeHead(200, { ...json, 'content-encoding': 'gzip' }).end(gzipSync(completion('x'.repeat(4 * MAX_RESPONSE_BYTES))));
      return;
    case 'no-done':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const w of ['cut ', 'short']) res.write(chunk(w));
      res.end(chunk(null, 'stop'));
      return;
    case 'echo-key':
      res.writeHead(200, json).end(completion(`you sent me "${auth}"`));
      return;
    case 'echo-key-stream': {
      // The key split across two writes, 30 ms apart, so it reaches the gateway in two chunks.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = chunk(`you sent me "${auth}"`);
      const cut = text.indexOf(auth) + 12;
      res.write(text.slice(0, cut));
      await sleep(30);
      res.write(text.slice(cut));
      res.write(chunk(null, 'stop'));
      res.end('data: [DONE]\n\n');
      return;
    }
    default:
      res.writeHead(200, json).end(completion('fine'));
  }
}

function hostileUpstream(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      const msgs = (JSON.parse(body) as { messages: { content: string }[] }).messages;
      void answer(msgs.at(-1)!.content, String(req.headers.authorization ?? ''), res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server }));
  });
}

describe('upstream answers are checked, not trusted', () => {
  let upstream: Awaited<ReturnType<typeof hostileUpstream>>;
  let gw: TestGateway;
  let token: string;
  let store: RelationalStores;
  let seq = 0;

  beforeAll(async () => {
    upstream = await hostileUpstream();
    gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: upstream.url, IBEX_MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES) } });
    ({ token } = await provision(gw, 'hostile'));
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
    upstream?.server.closeAllConnections();
    await new Promise((r) => upstream?.server.close(r));
  });

  async function chat(kind: string, stream = false) {
    const sid = `ses-hostile-${kind}-${++seq}-${Date.now().toString(36)}`;
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': sid },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: kind }] }),
    });
    return { status: res.statusCode, text: await res.body.text(), sid };
  }

  async function recordsOf(sid: string): Promise<{ cp: Checkpoint; trace: Trace }> {
    const t0 = Date.now();
    for (;;) {
      const cps = await store.sessions.checkpoints(sid);
      const traces = await store.traces.list({ sessionId: sid, limit: 10 });
      if (cps.length && traces.length) return { cp: cps[0]!, trace: traces[0]! };
      if (Date.now() - t0 > 5000) throw new Error(`no checkpoint and trace for ${sid}`);
      await sleep(25);
    }
  }

  for (const kind of ['html', 'empty', 'null', 'broken', 'array', 'no-content', 'redirect']) {
    it(`${kind}: 502 upstream_invalid_response (streaming or not), recorded so`, async () => {
      for (const stream of [false, true]) {
        const r = await chat(kind, stream);
        expect(r.status, r.text).toBe(502);
        const err = (JSON.parse(r.text) as { error: { code: string; type: string } }).error;
        expect(err).toMatchObject({ code: 'upstream_invalid_response', type: 'api_error' });
        const { cp, trace } = await recordsOf(r.sid);
        expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_invalid_response', reply: null });
        expect(trace).toMatchObject({ status: 502, errorCode: 'upstream_invalid_response' });
      }
    });
  }

  it('a reply over IBEX_MAX_RESPONSE_BYTES (plain or gzip-inflated): 502, nothing of it stored', async () => {
    for (const kind of ['huge', 'huge-gzip']) {
      const r = await chat(kind);
      expect(r.status, kind).toBe(502);
      expect(r.text).toContain('upstream_invalid_response');
      expect(r.text).toContain(String(MAX_RESPONSE_BYTES));
      expect(r.text.length).toBeLessThan(1000);
      const { cp, trace } = await recordsOf(r.sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_invalid_response', reply: null });
      expect(trace).toMatchObject({ status: 502, errorCode: 'upstream_invalid_response' });
    }
  });

  it('a stream that ends without [DONE]: the client gets all of it, recorded incomplete (not ok)', async () => {
    const r = await chat('no-done', true);
    expect(r.status).toBe(200);
    expect(r.text).toBe(chunk('cut ') + chunk('short') + chunk(null, 'stop'));
    const { cp, trace } = await recordsOf(r.sid);
    expect(cp).toMatchObject({ status: 'incomplete', errorCode: 'upstream_incomplete', reply: 'cut short', finishReason: 'stop' });
    expect(trace).toMatchObject({ status: 200, errorCode: 'upstream_incomplete' });
  });

  it('a healthy answer is untouched: 200, ok', async () => {
    const r = await chat('ok');
    expect(r.status).toBe(200);
    expect(r.text).toBe(completion('fine'));
    const { cp } = await recordsOf(r.sid);
    expect(cp).toMatchObject({ status: 'ok', errorCode: null, reply: 'fine', finishReason: 'stop' });
  });

  it('the upstream key echoed in a 200 body is masked for the client and in the checkpoint', async () => {
    const r = await chat('echo-key');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(UPSTREAM_KEY);
    const json = JSON.parse(r.text) as { choices: { message: { content: string } }[] };
    expect(json.choices[0]!.message.content).toBe('you sent me "Bearer ***"');
    const { cp } = await recordsOf(r.sid);
    expect(cp.reply).toBe('you sent me "Bearer ***"');
  });

  it('…and in a stream, split across two chunks', async () => {
    const r = await chat('echo-key-stream', true);
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(UPSTREAM_KEY);
    expect(r.text).not.toContain(UPSTREAM_KEY.slice(0, 12));
    expect(r.text).toBe(chunk('you sent me "Bearer ***"') + chunk(null, 'stop') + 'data: [DONE]\n\n');
    const { cp } = await recordsOf(r.sid);
    expect(cp).toMatchObject({ status: 'ok', reply: 'you sent me "Bearer ***"' });
  });
});
