// The walking skeleton end to end: the official openai client → built `ibex serve` → mock upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { request } from 'undici';
import { echoed, provision, startTestGateway, UPSTREAM_KEY, type TestGateway } from '../helpers/gateway.js';
import type { RecordedRequest } from '../../src/mock/server.js';

const DIRECTIVE = 'You are the e2e directive.';

/** Per-request faults chosen by the last user message, since the gateway never forwards caller headers. */
function faultsByContent(req: RecordedRequest) {
  const msgs = (req.body?.messages ?? []) as { content?: unknown }[];
  const last = String(msgs[msgs.length - 1]?.content ?? '');
  const m = /^fault:(\w+)(?::(\d+))?/.exec(last);
  if (!m) return undefined;
  switch (m[1]) {
    case 'fail':
      return { fail: Number(m[2]) };
    case 'slow':
      return { latencyMs: Number(m[2]), ttfbMs: Number(m[2]) };
    case 'slowstream':
      return { chunks: 50, chunkIntervalMs: Number(m[2]) };
    default:
      return undefined;
  }
}

describe('gateway e2e (openai client → ibex serve → mock)', () => {
  let gw: TestGateway;
  let token: string;
  let client: OpenAI;

  beforeAll(async () => {
    gw = await startTestGateway({
      mock: { faults: faultsByContent, chunks: 4 },
      env: { IBEX_UPSTREAM_TTFB_TIMEOUT_MS: '1500', IBEX_BODY_LIMIT: String(64 * 1024) },
    });
    ({ token } = await provision(gw, 'e2e', { directive: DIRECTIVE }));
    await provision(gw, 'other');
    client = new OpenAI({ apiKey: token, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('non-streaming: directive first, caller messages after, upstream key not the PAT', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'caller system' },
          { role: 'user', content: 'hello' },
        ],
      })
      .withResponse();
    const got = echoed(data.choices[0]!.message.content!);
    expect(got).toEqual([
      { role: 'system', content: DIRECTIVE },
      { role: 'system', content: 'caller system' },
      { role: 'user', content: 'hello' },
    ]);
    expect(response.headers.get('x-ibex-session')).toMatch(/^ses_/);
    expect(response.headers.get('x-ibex-directive-version')).toBe('1');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(response.headers.get('server-timing')).toMatch(/overhead;dur=\d+(\.\d+)?/);
    const seen = gw.mock!.stats.lastRequest!;
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(seen.headers)).not.toContain(token);
  });

  it('streaming: deltas arrive in order and reassemble the echo', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream please' }],
    });
    let text = '';
    let chunks = 0;
    let usage = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThanOrEqual(4);
    expect(echoed(text)[0]).toEqual({ role: 'system', content: DIRECTIVE });
    expect(usage).not.toBeNull();
  });

  it('streaming over raw HTTP ends with [DONE] and carries the ibex headers', async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'req-e2e-123' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(res.headers['x-request-id']).toBe('req-e2e-123');
    expect(res.headers['server-timing']).toMatch(/overhead;dur=/);
    const body = await res.body.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('X-Ibex-Session continues a session', async () => {
    const r1 = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'a' }] }, {
      headers: { 'X-Ibex-Session': 'my-session-1' },
    }).withResponse();
    expect(r1.response.headers.get('x-ibex-session')).toBe('my-session-1');
  });

  describe('mapped errors', () => {
    const post = (headers: Record<string, string>, body: string) =>
      request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const okBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] });

    async function expectError(res: Awaited<ReturnType<typeof post>>, status: number, code: string) {
      const json = (await res.body.json()) as { error: { code: string; message: string; type: string } };
      expect(res.statusCode).toBe(status);
      expect(json.error.code).toBe(code);
      expect(typeof json.error.message).toBe('string');
      expect(typeof json.error.type).toBe('string');
      return json;
    }

    it('401 without a token, with a malformed one, and with an unknown well-formed one', async () => {
      await expectError(await post({}, okBody), 401, 'invalid_api_key');
      await expectError(await post({ authorization: 'Bearer ibex_pat_nope' }, okBody), 401, 'invalid_api_key');
      // flip the last character: checksum fails
      const bad = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      await expectError(await post({ authorization: `Bearer ${bad}` }, okBody), 401, 'invalid_api_key');
      const { generatePat } = await import('../../src/auth/pat.js');
      await expectError(await post({ authorization: `Bearer ${generatePat().token}` }, okBody), 401, 'invalid_api_key');
    });

    it('the openai client raises AuthenticationError for a bad key', async () => {
      const bad = new OpenAI({ apiKey: 'ibex_pat_wrong', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      await expect(bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
    });

    it('403 for an agent the PAT is not bound to', async () => {
      await expectError(await post({ authorization: `Bearer ${token}`, 'x-ibex-agent': 'other' }, okBody), 403, 'agent_forbidden');
      await expectError(await post({ authorization: `Bearer ${token}`, 'x-ibex-agent': 'nope' }, okBody), 403, 'agent_forbidden');
    });

    it('400 for a body that is not JSON or has the wrong shape', async () => {
      const auth = { authorization: `Bearer ${token}` };
      await expectError(await post(auth, '{not json'), 400, 'invalid_request');
      await expectError(await post(auth, JSON.stringify({ model: 'm', messages: [] })), 400, 'invalid_request');
      await expectError(await post(auth, JSON.stringify({ model: 'm' })), 400, 'invalid_request');
      await expectError(await post(auth, JSON.stringify([1, 2])), 400, 'invalid_request');
      const j = await expectError(await post(auth, JSON.stringify({ model: 'm', messages: [{ content: 'no role' }] })), 400, 'invalid_request');
      expect(j.error.message).toContain('role');
    });

    it('413 for a body over the limit', async () => {
      const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
      await expectError(await post({ authorization: `Bearer ${token}` }, big), 413, 'request_too_large');
    });

    it('upstream 429 → 429 upstream_rate_limited; upstream 500 → 502 upstream_error', async () => {
      const body = (c: string) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: c }] });
      const r429 = await post({ authorization: `Bearer ${token}` }, body('fault:fail:429'));
      expect(r429.headers['retry-after']).toBeDefined();
      await expectError(r429, 429, 'upstream_rate_limited');
      await expectError(await post({ authorization: `Bearer ${token}` }, body('fault:fail:500')), 502, 'upstream_error');
      // a provider 400 is passed through with its status
      const r400 = await post({ authorization: `Bearer ${token}` }, body('fault:fail:400'));
      expect(r400.statusCode).toBe(400);
      await r400.body.dump();
      // a provider 401 is the gateway's key problem, not the caller's
      await expectError(await post({ authorization: `Bearer ${token}` }, body('fault:fail:401')), 502, 'upstream_auth_error');
    });

    it('upstream timeout → 504 upstream_timeout', async () => {
      const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'fault:slow:3000' }] });
      await expectError(await post({ authorization: `Bearer ${token}` }, body), 504, 'upstream_timeout');
    });

    it('unknown route → 404 OpenAI-shaped', async () => {
      const res = await request(`${gw.url}/v1/nope`);
      await expectError(res, 404, 'not_found');
    });
  });

  it('a client that aborts mid-stream ends the upstream request', async () => {
    const before = gw.mock!.stats.aborted;
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'm', stream: true, messages: [{ role: 'user', content: 'fault:slowstream:50' }] },
      { signal: ac.signal },
    );
    let n = 0;
    const t0 = Date.now();
    try {
      for await (const _ of stream) {
        if (++n === 2) ac.abort();
      }
    } catch {
      // the client may end the iteration quietly or throw an abort error: either is fine
    }
    expect(n).toBeLessThan(10);
    // 50 chunks at 50 ms would take 2.5 s; the abort must end it long before
    expect(Date.now() - t0).toBeLessThan(2000);
    await gw.mock!.stats.waitFor((s) => s.aborted > before && s.inflight === 0, 3000);
    expect(gw.mock!.stats.aborted).toBeGreaterThan(before);
  });

  it('GET /v1/models passes the upstream list through; /healthz and /readyz answer', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
    expect((await request(`${gw.url}/healthz`)).statusCode).toBe(200);
    const ready = await request(`${gw.url}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(((await ready.body.json()) as { status: string }).status).toBe('ready');
  });
});
