/**
 * ibex mock upstream — an OpenAI-compatible fake provider for tests, `ibex bench` and `ibex smoke`.
 *
 * Built on plain `node:http` (no framework, no per-request logging, keep-alive on, constant
 * strings precomputed) because benchmarks use it as the zero-overhead baseline at 100+
 * concurrent connections.
 *
 * Routes (base URL `http://HOST:PORT/v1`):
 *   POST /v1/chat/completions  The assistant reply is `echo:` + JSON.stringify(received.messages),
 *                              so a test can see exactly what the caller forwarded. `model` is echoed.
 *                              Usage is deterministic: prompt_tokens = ceil(len(JSON of messages)/4),
 *                              completion_tokens = ceil(len(reply)/4).
 *                              Non-streaming: a `chat.completion` object, after `latencyMs`.
 *                              `"stream": true`: `text/event-stream`; status and first bytes after `ttfbMs`;
 *                              a role delta + the first content delta, then the other `chunks - 1` content
 *                              deltas `chunkIntervalMs` apart (the deltas concatenate to the whole reply),
 *                              then a finish chunk (empty delta, finish_reason "stop"), then — only with
 *                              `stream_options.include_usage: true` — a chunk with `choices: []` and `usage`
 *                              (earlier chunks then carry `usage: null`, like OpenAI), then `data: [DONE]`.
 *                              Body not JSON → 400; not an object or no `messages` array → 400;
 *                              body over `maxBodyBytes` (16 MiB) → 413. Errors are OpenAI-shaped:
 *                              {"error":{"message","type","code","param"}}.
 *   GET  /v1/models            {object:'list', data:[gpt-4o-mini, gpt-4o]} (owned_by 'ibex-mock').
 *   anything else              404 `Invalid URL (METHOD /path)`.
 *
 * Failure injection (chat completions only): a `failRate` fraction of requests (sampled with a
 * seeded PRNG when `seed` is set, so runs repeat) get `failStatus` (default 500) after the usual
 * latency/TTFB delay. 5xx bodies have type "server_error"; 429 has type "requests",
 * code "rate_limit_exceeded" and headers `retry-after: 1` and `x-ratelimit-*`.
 *
 * Per-request faults, via request headers (they override the server options; bad values → 400):
 *   x-mock-fail: <400-599>            reply this status with an OpenAI-shaped error body
 *   x-mock-latency: <ms>              non-streaming: delay before the reply
 *   x-mock-ttfb: <ms>                 streaming: delay before the status line and first chunk
 *   x-mock-chunks: <n>                streaming: number of content deltas (>= 1)
 *   x-mock-chunk-interval: <ms>       streaming: gap between content deltas
 *   x-mock-reset: before-headers      destroy the socket (after the latency/TTFB delay) without replying
 *   x-mock-reset: mid-stream          streaming: destroy after the first chunk; non-streaming: send the
 *                                     headers (full content-length) and half the body, then destroy
 *   x-mock-stall: <ms>                streaming: pause this long after the first chunk; non-streaming:
 *                                     pause after half the body (for idle-timeout tests)
 *   x-mock-gzip: 1                    non-streaming: gzip the body, `content-encoding: gzip`
 *                                     (sent whatever the request's accept-encoding says)
 * GET /v1/models honours x-mock-fail, -latency, -reset, -stall and -gzip. The same overrides can
 * be set from code with the `faults` option (a function of the recorded request).
 *
 * What the mock received is kept in `stats` (see stats.ts): counters `requests`, `inflight`,
 * `completed`, `aborted` (connection closed before the response was complete: a client abort),
 * `failed`, `resets`, `invalid`; `lastRequest` and `recent` (a bounded ring of headers + parsed
 * bodies); `waitFor(predicate)` to await a condition. `onRequest` is called with each record.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { applyHeaderFaults, MAX_CHUNKS, MockRequestError, seededRandom, type RequestFaults } from './faults.js';
import { completionBody, echoContent, errorBody, modelsBody, streamEvents } from './openai-shapes.js';
import { MockStats, type RecordedRequest } from './stats.js';

export { MockStats, type RecordedRequest } from './stats.js';
export type { RequestFaults, ResetPoint } from './faults.js';

export interface MockOptions {
  /** default 0: an ephemeral port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** non-streaming: delay before replying, ms (default 0) */
  latencyMs?: number;
  /** streaming: delay before the first byte, ms (default 0) */
  ttfbMs?: number;
  /** streaming: number of content deltas (default 5) */
  chunks?: number;
  /** streaming: gap between content deltas, ms (default 0) */
  chunkIntervalMs?: number;
  /** 0..1: fraction of chat completion requests that fail (default 0) */
  failRate?: number;
  /** status of injected failures (default 500) */
  failStatus?: number;
  /** seed for failRate sampling; unset → Math.random */
  seed?: number;
  /** size of the `stats.recent` ring (default 100) */
  recentLimit?: number;
  /** larger request bodies get 413 (default 16 MiB) */
  maxBodyBytes?: number;
  /** called with every recorded request, before the reply */
  onRequest?: (request: RecordedRequest) => void;
  /** per-request fault overrides from code; `x-mock-*` headers still win */
  faults?: (request: RecordedRequest) => Partial<RequestFaults> | undefined;
}

export interface MockUpstream {
  /** base URL ending in /v1, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  /** stop listening and destroy open connections (in-flight responses count as aborted) */
  close(): Promise<void>;
  stats: MockStats;
}

const CHAT_PATH = '/v1/chat/completions';
const MODELS_PATH = '/v1/models';
const DEFAULT_MODEL = 'gpt-4o-mini';
const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
});
const RATE_LIMIT_HEADERS = Object.freeze({
  'retry-after': '1',
  'x-ratelimit-limit-requests': '1000',
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '1s',
});

function nonNegative(name: string, v: number | undefined, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0 || v > max) throw new RangeError(`mock upstream: ${name} must be a number in [0, ${max}], got ${v}`);
  return v;
}

/** Per-request state: lets delays be cancelled the moment the connection closes. */
class Exchange {
  closed = false;
  /** the mock destroyed the socket itself (x-mock-reset): not a client abort */
  selfReset = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: ((elapsed: boolean) => void) | undefined;

  constructor(
    readonly res: http.ServerResponse,
    /** arrival number, see RecordedRequest.seq */
    readonly seq: number,
  ) {}

  /** Resolves true after `ms`, or false as soon as the connection closes. */
  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake = undefined;
        resolve(true);
      }, ms);
    });
  }

  cancel(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.(false);
  }
}

export async function startMockUpstream(opts: MockOptions = {}): Promise<MockUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const port = nonNegative('port', opts.port, 0, 65535);
  const latencyMs = nonNegative('latencyMs', opts.latencyMs, 0);
  const ttfbMs = nonNegative('ttfbMs', opts.ttfbMs, 0);
  const chunks = nonNegative('chunks', opts.chunks, 5, MAX_CHUNKS);
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`mock upstream: chunks must be an integer >= 1, got ${chunks}`);
  const chunkIntervalMs = nonNegative('chunkIntervalMs', opts.chunkIntervalMs, 0);
  const failRate = nonNegative('failRate', opts.failRate, 0, 1);
  const failStatus = opts.failStatus ?? 500;
  if (!Number.isInteger(failStatus) || failStatus < 400 || failStatus > 599) {
    throw new RangeError(`mock upstream: failStatus must be an HTTP error status (400-599), got ${failStatus}`);
  }
  const maxBodyBytes = nonNegative('maxBodyBytes', opts.maxBodyBytes, DEFAULT_MAX_BODY);
  const random = opts.seed === undefined ? Math.random : seededRandom(opts.seed);
  const { onRequest, faults: faultHook } = opts;

  const stats = new MockStats(opts.recentLimit ?? 100);
  const startedAt = Math.floor(Date.now() / 1000);
  const modelsJson = modelsBody(startedAt);
  // Unique per server instance so ids from two mocks in one test never collide.
  const idPrefix = 'chatcmpl-mock' + randomBytes(4).toString('hex');
  let idCounter = 0;

  function onClose(ex: Exchange): void {
    stats.inflight--;
    if (ex.res.writableFinished) stats.completed++;
    else if (!ex.selfReset) stats.aborted++;
    ex.cancel();
    stats.changed();
  }

  function resetSocket(ex: Exchange): void {
    ex.selfReset = true;
    stats.resets++;
    ex.res.destroy();
  }

  function record(req: http.IncomingMessage, ex: Exchange, path: string, body: Record<string, unknown> | undefined, rawBody?: string): RecordedRequest {
    const r: RecordedRequest = {
      seq: ex.seq,
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      receivedAt: Date.now(),
    };
    if (rawBody !== undefined) r.rawBody = rawBody;
    stats.record(r);
    onRequest?.(r);
    return r;
  }

  function sendError(ex: Exchange, status: number, message?: string, param: string | null = null): void {
    const json = JSON.stringify(errorBody(status, message, param));
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    };
    if (status === 429) Object.assign(headers, RATE_LIMIT_HEADERS);
    ex.res.writeHead(status, headers);
    ex.res.end(json);
  }

  /** Writes a JSON reply, honouring gzip, mid-body reset and mid-body stall. */
  async function sendJson(ex: Exchange, json: string, f: RequestFaults): Promise<void> {
    const res = ex.res;
    const body: string | Buffer = f.gzip ? gzipSync(json) : json;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    };
    if (f.gzip) headers['content-encoding'] = 'gzip';
    res.writeHead(200, headers);
    if (f.reset !== 'mid-stream' && f.stallMs <= 0) {
      res.end(body);
      return;
    }
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const half = Math.max(1, buf.length >> 1);
    if (f.reset === 'mid-stream') {
      // Destroy only once the first half has reached the socket, so the client sees a truncated body.
      res.write(buf.subarray(0, half), () => resetSocket(ex));
      return;
    }
    res.write(buf.subarray(0, half));
    if (!(await ex.sleep(f.stallMs))) return;
    res.end(buf.subarray(half));
  }

  async function serveChat(ex: Exchange, body: Record<string, unknown>, f: RequestFaults): Promise<void> {
    const stream = body.stream === true;
    const delay = stream ? f.ttfbMs : f.latencyMs;
    if (delay > 0 && !(await ex.sleep(delay))) return;
    if (f.reset === 'before-headers') return resetSocket(ex);
    if (f.fail !== undefined) {
      stats.failed++;
      return sendError(ex, f.fail);
    }

    const content = echoContent(body.messages as unknown[]);
    const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
    const id = idPrefix + (++idCounter).toString(36);
    const created = Math.floor(Date.now() / 1000);
    if (!stream) return sendJson(ex, completionBody(id, created, model, content), f);

    const so = body.stream_options;
    const includeUsage = typeof so === 'object' && so !== null && (so as Record<string, unknown>).include_usage === true;
    const ev = streamEvents(id, created, model, content, f.chunks, includeUsage);
    const res = ex.res;
    res.writeHead(200, SSE_HEADERS);
    if (f.reset === 'mid-stream') {
      res.write(ev.role + ev.contents[0], () => resetSocket(ex));
      return;
    }
    if (f.chunkIntervalMs <= 0 && f.stallMs <= 0) {
      // Unpaced: one write, the cheapest possible stream.
      res.end(ev.role + ev.contents.join('') + ev.tail);
      return;
    }
    res.write(ev.role + ev.contents[0]);
    if (f.stallMs > 0 && !(await ex.sleep(f.stallMs))) return;
    for (let i = 1; i < ev.contents.length; i++) {
      if (f.chunkIntervalMs > 0 && !(await ex.sleep(f.chunkIntervalMs))) return;
      if (ex.closed) return;
      res.write(ev.contents[i]);
    }
    if (!ex.closed) res.end(ev.tail);
  }

  function chatFaults(req: http.IncomingMessage, rec: RecordedRequest): RequestFaults {
    const f: RequestFaults = { latencyMs, ttfbMs, chunks, chunkIntervalMs, stallMs: 0, gzip: false };
    if (faultHook) mergeDefined(f, faultHook(rec));
    applyHeaderFaults(f, req.headers);
    if (f.fail === undefined && failRate > 0 && (failRate >= 1 || random() < failRate)) f.fail = failStatus;
    return f;
  }

  function onChatBody(req: http.IncomingMessage, ex: Exchange, path: string, raw: Buffer): void {
    const text = raw.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      record(req, ex, path, undefined, text);
      stats.invalid++;
      return sendError(ex, 400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload.)');
    }
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    const body = isObject ? (parsed as Record<string, unknown>) : undefined;
    const rec = record(req, ex, path, body, body ? undefined : text);
    if (!body) {
      stats.invalid++;
      return sendError(ex, 400, 'The request body must be a JSON object.');
    }
    if (!Array.isArray(body.messages)) {
      stats.invalid++;
      return sendError(ex, 400, "Missing required parameter: 'messages' (an array).", 'messages');
    }
    let f: RequestFaults;
    try {
      f = chatFaults(req, rec);
    } catch (err) {
      if (!(err instanceof MockRequestError)) throw err;
      stats.invalid++;
      return sendError(ex, err.status, err.message, err.param);
    }
    serveChat(ex, body, f).catch((err) => internalError(ex, err));
  }

  function readChatBody(req: http.IncomingMessage, ex: Exchange, path: string): void {
    const parts: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        parts.length = 0;
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (ex.closed) return;
      if (tooLarge) {
        record(req, ex, path, undefined);
        stats.invalid++;
        return sendError(ex, 413, `Request body is larger than ${maxBodyBytes} bytes.`);
      }
      try {
        onChatBody(req, ex, path, parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
      } catch (err) {
        internalError(ex, err);
      }
    });
    // A client that disconnects mid-upload is counted by the response's close handler.
    req.on('error', () => {});
  }

  async function serveModels(req: http.IncomingMessage, ex: Exchange, rec: RecordedRequest): Promise<void> {
    const f: RequestFaults = { latencyMs: 0, ttfbMs: 0, chunks, chunkIntervalMs: 0, stallMs: 0, gzip: false };
    if (faultHook) mergeDefined(f, faultHook(rec));
    try {
      applyHeaderFaults(f, req.headers);
    } catch (err) {
      if (!(err instanceof MockRequestError)) throw err;
      stats.invalid++;
      return sendError(ex, err.status, err.message, err.param);
    }
    if (f.latencyMs > 0 && !(await ex.sleep(f.latencyMs))) return;
    if (f.reset === 'before-headers') return resetSocket(ex);
    if (f.fail !== undefined) {
      stats.failed++;
      return sendError(ex, f.fail);
    }
    return sendJson(ex, modelsJson, f);
  }

  function internalError(ex: Exchange, err: unknown): void {
    if (ex.closed) return;
    if (ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    sendError(ex, 500, `ibex mock upstream bug: ${err instanceof Error ? err.message : String(err)}`);
  }

  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.inflight++;
    const ex = new Exchange(res, stats.requests);
    res.on('close', () => onClose(ex));
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === CHAT_PATH && req.method === 'POST') return readChatBody(req, ex, path);
    const rec = record(req, ex, path, undefined);
    if (path === MODELS_PATH && req.method === 'GET') {
      serveModels(req, ex, rec).catch((err) => internalError(ex, err));
      return;
    }
    sendError(ex, 404, `Invalid URL (${req.method} ${path})`);
  });
  // Longer than common client keep-alive timeouts (undici: 4 s), so the client, not the mock,
  // closes idle connections and never sends on a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const boundPort = (server.address() as AddressInfo).port;

  return {
    url: `http://${urlHost(host)}:${boundPort}/v1`,
    port: boundPort,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** Object.assign that ignores `undefined` values, so a hook returning `{ fail: undefined }` changes nothing. */
function mergeDefined(target: RequestFaults, patch: Partial<RequestFaults> | undefined): void {
  if (!patch) return;
  for (const [k, v] of Object.entries(patch)) {
    if (v !== undefined) (target as unknown as Record<string, unknown>)[k] = v;
  }
}

/** A host usable in a URL: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
