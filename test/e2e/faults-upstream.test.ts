// Upstream faults through a real `ibex serve` (issue 8, item 1): bursts of 5xx/429, connection resets
// before headers and mid-stream, stalls (connect, TTFB and idle timeouts, and a long stream that must
// never be cut), gzip and chunked bodies. Each case checks what the client saw, how many times the
// upstream was called (retries only before the first byte), and — where a request was forwarded — what
// the checkpoint and trace in the gateway's SQLite store say.
//
// The gateway never forwards caller headers upstream, so the fault is chosen from the last user message:
// `fault:<kind>:<tag>`. `tag` is unique per case, so attempts (retries) are counted per case.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { echoed, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import type { RecordedRequest, RequestFaults } from '../../src/mock/server.js';
import type { Checkpoint, Trace } from '../../src/stores/ports.js';

// Timeouts of the main gateway. Every "healthy" case below answers well within them; the long stream
// (40 × 100 ms = 4 s) lasts 4× the TTFB timeout and 8× the idle timeout, so any whole-request
// timeout would cut it.
const TTFB_TIMEOUT_MS = 1000;
const IDLE_TIMEOUT_MS = 500;

type Kind =
  | '503x2' | '503always' | '502x1' | '500' | '429x1' | '429always' | 'reset-x1' | 'reset-always'
  | 'reset-mid' | 'reset-mid-json' | 'ttfb' | 'stall' | 'long' | 'gzip' | 'gzip-stall';

/** Attempts seen upstream per tag (one tag per case). */
const attempts = new Map<string, number>();
/** `range` headers seen upstream per tag: a retry that tries to resume a started response. */
const ranges = new Map<string, string[]>();

function lastUserContent(req: RecordedRequest): string {
  if (typeof req.body?.input === 'string') return req.body.input; // POST /responses
  const msgs = (req.body?.messages ?? []) as { content?: unknown }[];
  return String(msgs[msgs.length - 1]?.content ?? '');
}

function faultsByContent(req: RecordedRequest): Partial<RequestFaults> | undefined {
  if (req.path.endsWith('/models')) return String(req.headers['x-request-id']).startsWith('models-gzip') ? { gzip: true } : undefined;
  const m = /^fault:([\w-]+):(\S+)$/.exec(lastUserContent(req));
  if (!m) return undefined;
  const tag = m[2]!;
  const n = (attempts.get(tag) ?? 0) + 1;
  attempts.set(tag, n);
  const range = req.headers.range;
  if (range) ranges.set(tag, [...(ranges.get(tag) ?? []), String(range)]);
  switch (m[1] as Kind) {
    case '503x2':
      return n <= 2 ? { fail: 503 } : undefined;
    case '503always':
      return { fail: 503 };
    case '502x1':
      return n <= 1 ? { fail: 502 } : undefined;
    case '500':
      return { fail: 500 };
    case '429x1': // the mock's 429 carries retry-after: 1
      return n <= 1 ? { fail: 429 } : undefined;
    case '429always':
      return { fail: 429 };
    case 'reset-x1':
      return n <= 1 ? { reset: 'before-headers' } : undefined;
    case 'reset-always':
      return { reset: 'before-headers' };
    case 'reset-mid':
      return { reset: 'mid-stream', chunks: 10 };
    case 'reset-mid-json':
      return { reset: 'mid-stream' };
    case 'ttfb':
      return { latencyMs: 3 * TTFB_TIMEOUT_MS, ttfbMs: 3 * TTFB_TIMEOUT_MS };
    case 'stall':
      return { chunks: 10, stallMs: 4 * IDLE_TIMEOUT_MS };
    case 'long':
      return { chunks: 40, chunkIntervalMs: 100 };
    case 'gzip':
      return { gzip: true };
    case 'gzip-stall': // the gzip body arrives in two parts, 300 ms apart (under the idle timeout)
      return { gzip: true, stallMs: 300 };
    default:
      return undefined;
  }
}

let tagSeq = 0;
function fault(kind: Kind): { content: string; tag: string } {
  const tag = `${kind}-${++tagSeq}-${Date.now().toString(36)}`;
  return { content: `fault:${kind}:${tag}`, tag };
}

interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** Parses an SSE body into its `data:` payloads (JSON-decoded, or the literal `[DONE]`). */
function sseEvents(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split('\n\n')) {
    const line = block.split('\n').find((l) => l.startsWith('data:'));
    if (!line) continue;
    const data = line.slice(5).trim();
    out.push(data === '[DONE]' ? '[DONE]' : JSON.parse(data));
  }
  return out;
}

function deltaText(events: unknown[]): string {
  let s = '';
  for (const e of events) {
    const c = (e as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta?.content;
    if (typeof c === 'string') s += c;
  }
  return s;
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function chatAt(gw: TestGateway, token: string, body: object, headers: Record<string, string> = {}) {
  return request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
}

async function expectError(res: Awaited<ReturnType<typeof request>>, status: number, code: string): Promise<ErrorBody> {
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(status);
  const json = JSON.parse(text) as ErrorBody;
  expect(json.error.code).toBe(code);
  expect(typeof json.error.message).toBe('string');
  expect(typeof json.error.type).toBe('string');
  return json;
}

/** The one checkpoint and the one trace of a session (each case uses its own session). */
async function recordsOf(store: RelationalStores, sid: string): Promise<{ cp: Checkpoint; trace: Trace }> {
  return waitFor(
    async () => {
      const cps = await store.sessions.checkpoints(sid);
      const traces = await store.traces.list({ sessionId: sid, limit: 10 });
      if (cps.length === 0 || traces.length === 0) return null;
      expect(cps).toHaveLength(1);
      expect(traces).toHaveLength(1);
      return { cp: cps[0]!, trace: traces[0]! };
    },
    3000,
    `checkpoint and trace of ${sid}`,
  );
}

let sidSeq = 0;
const newSid = (what: string) => `ses-faults-${what}-${++sidSeq}-${Date.now().toString(36)}`;

describe('upstream faults (mock upstream)', () => {
  let gw: TestGateway;
  let token: string;
  let store: RelationalStores;
  const chat = (body: object, headers: Record<string, string> = {}) => chatAt(gw, token, body, headers);
  const user = (content: string) => [{ role: 'user', content }];

  beforeAll(async () => {
    gw = await startTestGateway({
      mock: { faults: faultsByContent, chunks: 4 },
      env: {
        IBEX_UPSTREAM_TTFB_TIMEOUT_MS: String(TTFB_TIMEOUT_MS),
        IBEX_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      },
    });
    ({ token } = await provision(gw, 'faults'));
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  });
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
  });

  describe('5xx and 429 bursts: retried only before the first byte, mapped after', () => {
    it('503, 503, then 200: the client gets the 200 after two backed-off retries', async () => {
      const f = fault('503x2');
      const t0 = Date.now();
      const res = await chat({ messages: user(f.content) });
      const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
      expect(res.statusCode).toBe(200);
      expect(echoed(json.choices[0]!.message.content).at(-1)).toEqual({ role: 'user', content: f.content });
      expect(attempts.get(f.tag)).toBe(3);
      // backoff from 100 ms, doubling: 100 + 200
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    });

    it('a 502 is retried too', async () => {
      const f = fault('502x1');
      const res = await chat({ messages: user(f.content) });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(attempts.get(f.tag)).toBe(2);
    });

    it('503 on every attempt: 502 upstream_error after 1 + 2 retries', async () => {
      const f = fault('503always');
      await expectError(await chat({ messages: user(f.content) }), 502, 'upstream_error');
      expect(attempts.get(f.tag)).toBe(3);
    });

    it('a client that leaves before the provider answers: trace 499 without an error code, checkpoint client_aborted', async () => {
      const f = fault('ttfb');
      const sid = newSid('left-before-headers');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 150);
      const res = request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        signal: ac.signal,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': sid },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: user(f.content) }),
      });
      await expect(res).rejects.toThrow();
      const { cp, trace } = await recordsOf(store, sid);
      // Not the invalid_request of the cancelled provider call: the caller left (docs/errors.md).
      expect(trace).toMatchObject({ status: 499, errorCode: null });
      expect(cp).toMatchObject({ status: 'client_aborted', errorCode: 'client_aborted' });
    });

    it('a client that leaves during the backoff stops the retries', async () => {
      const f = fault('503always');
      const ac = new AbortController();
      // The first attempt fails at once; the client leaves inside the 100 ms backoff before the second.
      setTimeout(() => ac.abort(), 40);
      const res = request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        signal: ac.signal,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: user(f.content) }),
      });
      await expect(res).rejects.toThrow();
      // Give a retry that should not happen the time it would have taken (100 + 200 ms backoff).
      await new Promise((r) => setTimeout(r, 500));
      expect(attempts.get(f.tag), 'upstream attempts after the client left').toBe(1);
    });

    it('500 is not retried: 502 upstream_error after exactly one upstream request', async () => {
      const f = fault('500');
      const sid = newSid('500');
      await expectError(await chat({ messages: user(f.content) }, { 'x-ibex-session': sid }), 502, 'upstream_error');
      expect(attempts.get(f.tag)).toBe(1);
      const { cp, trace } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error', reply: null });
      expect(trace).toMatchObject({ status: 502, errorCode: 'upstream_error' });
    });

    it('429 with retry-after: 1 is retried after about a second', async () => {
      const f = fault('429x1');
      const t0 = Date.now();
      const res = await chat({ messages: user(f.content) });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(attempts.get(f.tag)).toBe(2);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    });

    it('429 that persists: 429 upstream_rate_limited with the provider retry-after', async () => {
      const f = fault('429always');
      const res = await chat({ messages: user(f.content) });
      const retryAfter = res.headers['retry-after'];
      await expectError(res, 429, 'upstream_rate_limited');
      expect(retryAfter).toBe('1');
      expect(attempts.get(f.tag)).toBe(3);
    });

    it('a streaming request gets the same mapped status (nothing was sent yet)', async () => {
      const f = fault('500');
      await expectError(await chat({ stream: true, messages: user(f.content) }), 502, 'upstream_error');
      expect(attempts.get(f.tag)).toBe(1);
    });
  });

  describe('connection reset', () => {
    it('before headers, once: retried, the client gets 200', async () => {
      const f = fault('reset-x1');
      const res = await chat({ stream: true, messages: user(f.content) });
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(attempts.get(f.tag)).toBe(2);
    });

    it('before headers, every time: 502 upstream_error after 1 + 2 retries', async () => {
      const f = fault('reset-always');
      const sid = newSid('reset-always');
      await expectError(await chat({ messages: user(f.content) }, { 'x-ibex-session': sid }), 502, 'upstream_error');
      expect(attempts.get(f.tag)).toBe(3);
      const { cp, trace } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error' });
      expect(trace).toMatchObject({ status: 502, errorCode: 'upstream_error' });
    });

    it('mid-stream: 200, the deltas sent so far, one in-band error event, end; recorded as upstream_error', async () => {
      const f = fault('reset-mid');
      const sid = newSid('reset-mid');
      const res = await chat({ stream: true, messages: user(f.content) }, { 'x-ibex-session': sid });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/event-stream');
      const text = await res.body.text(); // resolves: the gateway ended the stream
      const events = sseEvents(text);
      const last = events.at(-1) as ErrorBody;
      expect(last.error?.code).toBe('upstream_error');
      expect(typeof last.error.message).toBe('string');
      expect(events.filter((e) => (e as ErrorBody).error)).toHaveLength(1);
      expect(events).not.toContain('[DONE]');
      const partial = deltaText(events);
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.startsWith('echo:')).toBe(true);

      const { cp, trace } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error', stream: true });
      expect(cp.reply).toBe(partial);
      expect(trace).toMatchObject({ stream: true, errorCode: 'upstream_error' });
    });

    it('mid-stream on the Responses API: one in-band error event numbered after the last event forwarded', async () => {
      const f = fault('reset-mid');
      const sid = newSid('reset-mid-responses');
      const res = await request(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-ibex-session': sid },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, input: f.content }),
      });
      expect(res.statusCode).toBe(200);
      const events = sseEvents(await res.body.text()) as { type: string; sequence_number: number; code?: string }[];
      const last = events.at(-1)!;
      expect(last).toMatchObject({ type: 'error', code: 'upstream_error' });
      expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
      expect(events.length).toBeGreaterThan(1);
      // The Responses API numbers every event of a stream: the appended error continues the count.
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const { cp } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error', stream: true });
    });

    it('mid-body of a non-streaming reply: 502 upstream_error, never a truncated 200', async () => {
      const f = fault('reset-mid-json');
      await expectError(await chat({ messages: user(f.content) }), 502, 'upstream_error');
    });

    // Guards against a regression found here: undici's RetryHandler (used until ADR 0008) treated every
    // 2xx as resumable, so when the socket broke after the response started it re-sent the POST with
    // `range: bytes=N-` — a second, billed generation. http-provider's own retry loop only sees
    // failures before the response headers, so a started response is never retried (ADR 0002).
    it('a response that started is never re-sent upstream (streaming and non-streaming)', async () => {
      for (const [kind, stream] of [['reset-mid', true], ['reset-mid-json', false]] as const) {
        const f = fault(kind);
        const res = await chat({ stream, messages: user(f.content) });
        await res.body.dump();
        expect(ranges.get(f.tag) ?? [], `range headers of the upstream requests of ${kind}`).toEqual([]);
        expect(attempts.get(f.tag), `upstream requests for ${kind}`).toBe(1);
      }
    });
  });

  describe('stalled upstream: separate TTFB and idle timeouts, no whole-request timeout', () => {
    it('no response headers within the TTFB timeout: 504 upstream_timeout (non-streaming and streaming), not retried', async () => {
      for (const stream of [false, true]) {
        const f = fault('ttfb');
        const t0 = Date.now();
        await expectError(await chat({ stream, messages: user(f.content) }), 504, 'upstream_timeout');
        const ms = Date.now() - t0;
        expect(ms).toBeGreaterThanOrEqual(TTFB_TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(3 * TTFB_TIMEOUT_MS);
        expect(attempts.get(f.tag)).toBe(1);
      }
      // the gateway gave up on the upstream request as well
      await gw.mock!.stats.waitFor((s) => s.inflight === 0, 3000);
    });

    it('a stream that stalls longer than the idle timeout: in-band upstream_timeout, stream ended, recorded', async () => {
      const f = fault('stall');
      const sid = newSid('stall');
      const t0 = Date.now();
      const res = await chat({ stream: true, messages: user(f.content) }, { 'x-ibex-session': sid });
      expect(res.statusCode).toBe(200);
      const events = sseEvents(await res.body.text());
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(4 * IDLE_TIMEOUT_MS); // cut by the idle timeout, not by the end of the stall
      const last = events.at(-1) as ErrorBody;
      expect(last.error?.code).toBe('upstream_timeout');
      expect(events).not.toContain('[DONE]');
      expect(deltaText(events).startsWith('echo:')).toBe(true);
      const { cp, trace } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_timeout', reply: deltaText(events) });
      expect(trace).toMatchObject({ stream: true, errorCode: 'upstream_timeout' });
      expect(attempts.get(f.tag)).toBe(1);
    });

    it('a long stream that keeps producing is never cut (4 s ≫ TTFB 1 s and idle 0.5 s timeouts)', async () => {
      const f = fault('long');
      const sid = newSid('long');
      const t0 = Date.now();
      const res = await chat({ stream: true, messages: user(f.content) }, { 'x-ibex-session': sid });
      expect(res.statusCode).toBe(200);
      const text = await res.body.text();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3500); // 39 gaps of 100 ms
      const events = sseEvents(text);
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.some((e) => (e as ErrorBody).error)).toBe(false);
      const reply = deltaText(events);
      expect(echoed(reply).at(-1)).toEqual({ role: 'user', content: f.content });
      const { cp, trace } = await recordsOf(store, sid);
      expect(cp).toMatchObject({ status: 'ok', errorCode: null, finishReason: 'stop', reply });
      expect(trace).toMatchObject({ status: 200, errorCode: null });
      expect(trace.totalMs).toBeGreaterThanOrEqual(3500);
    });
  });

  describe('gzip from the upstream', () => {
    it('a gzip non-streaming reply reaches the client decoded and intact', async () => {
      const f = fault('gzip');
      const res = await chat({ messages: user(f.content) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBeUndefined();
      const json = (await res.body.json()) as { object: string; choices: { message: { content: string } }[] };
      expect(json.object).toBe('chat.completion');
      expect(echoed(json.choices[0]!.message.content).at(-1)).toEqual({ role: 'user', content: f.content });
    });

    it('a gzip body split across two writes (with a pause) is decoded intact', async () => {
      const f = fault('gzip-stall');
      const res = await chat({ messages: user(f.content) });
      expect(res.statusCode).toBe(200);
      const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
      expect(echoed(json.choices[0]!.message.content).at(-1)).toEqual({ role: 'user', content: f.content });
    });

    // Guards a regression found here: /v1/models read the body without pipeline/decode.ts, so a gzip
    // reply reached the client as gzip bytes labelled application/json.
    it('GET /v1/models with a gzip upstream body reaches the client decoded', async () => {
      // /v1/models has no body to carry the fault: the mock's hook keys it by the forwarded x-request-id.
      const res = await request(`${gw.url}/v1/models`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'models-gzip-1' },
      });
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      const json = JSON.parse(text) as { object: string; data: { id: string }[] };
      expect(json.object).toBe('list');
      expect(json.data.map((m) => m.id)).toContain('gpt-4o-mini');
    });
  });
});

/**
 * A hand-written upstream for what the mock cannot do: a 429 with a long retry-after, gzip and SSE
 * bodies sent with chunked transfer encoding in small pieces.
 */
function rawUpstream(): Promise<{ url: string; server: http.Server; seen: Map<string, number> }> {
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
        return;
      }
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { messages: { content: string }[] };
      const content = body.messages.at(-1)!.content;
      seen.set(content, (seen.get(content) ?? 0) + 1);
      void serveRaw(content, res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({ url: `http://127.0.0.1:${port}/v1`, server, seen });
    });
  });
}

const RAW_REPLY = 'chunked and gzipped reply ✓ — ünïcödé';
const rawCompletion = JSON.stringify({
  id: 'chatcmpl-raw',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: RAW_REPLY }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});
const rawSse =
  [...RAW_REPLY].map(
    (ch) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: ch }, finish_reason: null }] })}\n\n`,
  ).join('') +
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
  'data: [DONE]\n\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `buf` in pieces of `size` bytes, `gapMs` apart (chunked transfer encoding, no content-length). */
async function writeInPieces(res: http.ServerResponse, buf: Buffer, size: number, gapMs: number): Promise<void> {
  for (let i = 0; i < buf.length; i += size) {
    res.write(buf.subarray(i, i + size));
    if (gapMs) await sleep(gapMs);
  }
  res.end();
}

async function serveRaw(content: string, res: http.ServerResponse): Promise<void> {
  switch (content) {
    case 'ra30':
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded', param: null } }));
      return;
    case 'gzip-chunked':
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return writeInPieces(res, gzipSync(rawCompletion), 16, 5);
    case 'sse-split':
      // SSE lines cut at arbitrary byte positions, even inside multi-byte characters.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return writeInPieces(res, Buffer.from(rawSse), 7, 2);
    case 'sse-gzip':
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      return writeInPieces(res, gzipSync(rawSse), 64, 5);
    default:
      res.writeHead(200, { 'content-type': 'application/json' }).end(rawCompletion);
  }
}

describe('upstream faults (hand-written upstream)', () => {
  let gw: TestGateway;
  let token: string;
  let raw: Awaited<ReturnType<typeof rawUpstream>>;
  let store: RelationalStores;
  const chat = (body: object, headers: Record<string, string> = {}) => chatAt(gw, token, body, headers);

  beforeAll(async () => {
    raw = await rawUpstream();
    gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: raw.url } });
    ({ token } = await provision(gw, 'raw'));
    store = await openSqliteStores(join(gw.home, 'ibex.db'));
  });
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
    raw?.server.closeAllConnections();
    raw?.server.close();
  });

  it('429 with retry-after: 30 is not retried: 429 upstream_rate_limited at once, retry-after passed on', async () => {
    const t0 = Date.now();
    const res = await chat({ messages: [{ role: 'user', content: 'ra30' }] });
    const retryAfter = res.headers['retry-after'];
    await expectError(res, 429, 'upstream_rate_limited');
    expect(retryAfter).toBe('30');
    expect(raw.seen.get('ra30')).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('gzip + chunked transfer encoding in 16-byte pieces: decoded intact', async () => {
    const res = await chat({ messages: [{ role: 'user', content: 'gzip-chunked' }] });
    expect(res.statusCode).toBe(200);
    const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
    expect(json.choices[0]!.message.content).toBe(RAW_REPLY);
  });

  it('SSE cut at arbitrary byte positions: forwarded byte for byte, checkpoint reassembled', async () => {
    const sid = newSid('sse-split');
    const res = await chat({ stream: true, messages: [{ role: 'user', content: 'sse-split' }] }, { 'x-ibex-session': sid });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe(rawSse);
    const { cp } = await recordsOf(store, sid);
    expect(cp).toMatchObject({ status: 'ok', reply: RAW_REPLY, finishReason: 'stop' });
  });

  it('gzip SSE: the client gets the decoded stream, checkpoint reassembled', async () => {
    const sid = newSid('sse-gzip');
    const res = await chat({ stream: true, messages: [{ role: 'user', content: 'sse-gzip' }] }, { 'x-ibex-session': sid });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(await res.body.text()).toBe(rawSse);
    const { cp } = await recordsOf(store, sid);
    expect(cp).toMatchObject({ status: 'ok', reply: RAW_REPLY });
  });

  it('upstream gone (connection refused): 502 upstream_error, recorded', async () => {
    raw.server.closeAllConnections();
    await new Promise<void>((r) => raw.server.close(() => r()));
    const sid = newSid('refused');
    await expectError(await chat({ messages: [{ role: 'user', content: 'hello' }] }, { 'x-ibex-session': sid }), 502, 'upstream_error');
    const { cp, trace } = await recordsOf(store, sid);
    expect(cp).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_error' });
    expect(trace).toMatchObject({ status: 502, errorCode: 'upstream_error' });
    // and the gateway is still fine
    const health = await request(`${gw.url}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });
});

/**
 * A loopback listener whose accept queue is full: python's listen(0) never accepts, one connection
 * fills the queue, and the kernel then drops further SYNs, so a connect hangs until the client's
 * connect timeout. Resolves null when python3 is not available.
 */
async function fullBacklogListener(): Promise<{ port: number; filler: net.Socket; proc: ChildProcess } | null> {
  const script = [
    'import socket, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(120)',
  ].join('\n');
  let proc: ChildProcess;
  try {
    proc = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  const port = await new Promise<number | null>((resolve) => {
    proc.on('error', () => resolve(null));
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  if (!port) return null;
  const filler = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
  // Prove the queue is full: a second connect must not complete quickly.
  const connected = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(true));
    s.on('error', () => resolve(true));
    setTimeout(() => resolve(false), 300);
    setTimeout(() => s.destroy(), 320);
  });
  if (connected) {
    proc.kill();
    filler.destroy();
    return null;
  }
  return { port, filler, proc };
}

describe('connect timeout (loopback listener with a full accept queue)', () => {
  it('no TCP connection within the connect timeout: 504 upstream_timeout, retried, bounded', async (t) => {
    const listener = await fullBacklogListener();
    if (!listener) {
      if (process.env.CI === 'true') throw new Error('python3 is required for the connect-timeout test');
      t.skip();
      return;
    }
    const gw = await startTestGateway({
      mock: false,
      env: { IBEX_UPSTREAM_URL: `http://127.0.0.1:${listener.port}/v1`, IBEX_UPSTREAM_CONNECT_TIMEOUT_MS: '300' },
    });
    try {
      const { token } = await provision(gw, 'ct');
      const t0 = Date.now();
      const res = await chatAt(gw, token, { messages: [{ role: 'user', content: 'hi' }] });
      await expectError(res, 504, 'upstream_timeout');
      const ms = Date.now() - t0;
      // 3 attempts × 300 ms + backoff (100 + 200 ms); far below any TCP-level give-up
      expect(ms).toBeGreaterThanOrEqual(3 * 300);
      expect(ms).toBeLessThan(5000);
    } finally {
      await gw.stop();
      listener.filler.destroy();
      listener.proc.kill();
    }
  });
});
