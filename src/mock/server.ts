/**
 * ibex mock upstream — a fake provider for tests, `ibex bench` and `ibex smoke`, speaking either
 * the OpenAI API (default) or the Anthropic Messages API (`protocol: 'anthropic'`). What each
 * route answers, the echo convention, the tool-call trigger and every fault are documented in
 * docs/mock-upstream.md; this file is the router and the request lifecycle.
 *
 * Built on plain `node:http` (no framework, no per-request logging, keep-alive on, constant
 * strings precomputed) because benchmarks use it as the zero-overhead baseline at 100+
 * concurrent connections.
 *
 * Lifecycle of a request: match a route (else 404) → read and record the body (413 over
 * `maxBodyBytes`) → auth (Anthropic headers; `apiKeys` when set) → JSON object check (400) →
 * the route's own validation (400/404) → faults: server options, overridden by the `faults`
 * hook, overridden by `x-mock-*` headers (bad values → 400); `failRate` only on model calls →
 * delay (TTFB for streams, latency otherwise) → reset / injected failure → the route's reply.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { anthropicAuth, anthropicRoutes, anthropicWire, PromptCache } from './anthropic-server.js';
import { Exchange, Wire, type WireProtocol } from './exchange.js';
import { applyHeaderFaults, MAX_CHUNKS, MockRequestError, seededRandom, type RequestFaults } from './faults.js';
import { chatRoute } from './openai-chat.js';
import { completionsRoute } from './openai-completions.js';
import { embeddingsRoute } from './openai-embeddings.js';
import { moderationsRoute } from './openai-moderations.js';
import { responsesRoutes } from './openai-responses-routes.js';
import { errorBody, modelBody, modelsBody } from './openai-shapes.js';
import { ResponseStore } from './response-store.js';
import { errorReply, Ids, isObject, type Call, type Reply, type Route } from './route.js';
import { MockStats, type RecordedRequest } from './stats.js';

export { MockStats, type RecordedRequest } from './stats.js';
export type { RequestFaults, ResetPoint } from './faults.js';

export type MockProtocol = 'openai' | 'anthropic';

/** The knobs that can also be changed while the mock runs (`configure`). */
export interface MockFaultSettings {
  /** non-streaming: delay before replying, ms (default 0) */
  latencyMs?: number;
  /** streaming: delay before the first byte, ms (default 0) */
  ttfbMs?: number;
  /** streaming: number of content deltas (default 5) */
  chunks?: number;
  /** streaming: gap between content deltas, ms (default 0) */
  chunkIntervalMs?: number;
  /** 0..1: fraction of model calls (chat, completions, responses, embeddings, moderations, messages) that fail (default 0) */
  failRate?: number;
  /** status of injected failures (default 500) */
  failStatus?: number;
}

export interface MockOptions extends MockFaultSettings {
  /** default 'openai' */
  protocol?: MockProtocol;
  /** default 0: an ephemeral port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** seed for failRate sampling; unset → Math.random */
  seed?: number;
  /** only these keys are accepted (OpenAI: `Authorization: Bearer K`, Anthropic: `x-api-key`); unset → any */
  apiKeys?: string[];
  /** size of the `stats.recent` ring (default 100) */
  recentLimit?: number;
  /** how many created Responses are kept for GET / input_items / previous_response_id (default 1000) */
  responseStoreLimit?: number;
  /** larger request bodies get 413 (default 16 MiB) */
  maxBodyBytes?: number;
  /** called with every recorded request, before the reply */
  onRequest?: (request: RecordedRequest) => void;
  /** per-request fault overrides from code; `x-mock-*` headers still win */
  faults?: (request: RecordedRequest) => Partial<RequestFaults> | undefined;
}

export interface MockUpstream {
  /**
   * The base URL a client or an ibex provider is configured with: OpenAI mode
   * http://HOST:PORT/v1, Anthropic mode http://HOST:PORT (the SDK and ibex add /v1/messages).
   */
  url: string;
  /** http://HOST:PORT */
  origin: string;
  port: number;
  protocol: MockProtocol;
  /** change latency/pacing/failure settings of a running mock (e.g. make a provider start failing) */
  configure(settings: MockFaultSettings): void;
  /** stop listening and destroy open connections (in-flight responses count as aborted) */
  close(): Promise<void>;
  stats: MockStats;
}

const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
// Shared by requests without a query string; routes only read it.
const NO_QUERY = new URLSearchParams();

const OPENAI_RATE_LIMIT_HEADERS = Object.freeze({
  'retry-after': '1',
  'x-ratelimit-limit-requests': '1000',
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '1s',
});

function openaiWire(requestIdPrefix: string): WireProtocol {
  return {
    requestIdHeader: 'x-request-id',
    requestIdPrefix,
    shapeError: (status, message, param, code) => ({
      json: JSON.stringify(errorBody(status, message, param, code)),
      headers: status === 429 ? OPENAI_RATE_LIMIT_HEADERS : undefined,
    }),
  };
}

function nonNegative(name: string, v: number | undefined, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0 || v > max) throw new RangeError(`mock upstream: ${name} must be a number in [0, ${max}], got ${v}`);
  return v;
}

type Settings = Required<MockFaultSettings>;

function checkSettings(s: MockFaultSettings, base: Settings): Settings {
  const chunks = nonNegative('chunks', s.chunks, base.chunks, MAX_CHUNKS);
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`mock upstream: chunks must be an integer >= 1, got ${chunks}`);
  const failStatus = s.failStatus ?? base.failStatus;
  if (!Number.isInteger(failStatus) || failStatus < 400 || failStatus > 599) {
    throw new RangeError(`mock upstream: failStatus must be an HTTP error status (400-599), got ${failStatus}`);
  }
  return {
    latencyMs: nonNegative('latencyMs', s.latencyMs, base.latencyMs),
    ttfbMs: nonNegative('ttfbMs', s.ttfbMs, base.ttfbMs),
    chunks,
    chunkIntervalMs: nonNegative('chunkIntervalMs', s.chunkIntervalMs, base.chunkIntervalMs),
    failRate: nonNegative('failRate', s.failRate, base.failRate, 1),
    failStatus,
  };
}

const DEFAULT_SETTINGS: Settings = { latencyMs: 0, ttfbMs: 0, chunks: 5, chunkIntervalMs: 0, failRate: 0, failStatus: 500 };

interface RouteEntry {
  method: string;
  parts: string[];
  route: Route;
}

/** `'GET /v1/responses/:id'` → a matcher entry; `:x` segments become params. */
function entry(spec: string, route: Route): RouteEntry {
  const [method, path] = spec.split(' ') as [string, string];
  return { method, parts: path.split('/'), route };
}

function match(table: RouteEntry[], method: string, path: string): { route: Route; params: string[] } | undefined {
  const parts = path.split('/');
  outer: for (const e of table) {
    if (e.method !== method || e.parts.length !== parts.length) continue;
    const params: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const want = e.parts[i]!;
      if (want.startsWith(':')) {
        if (parts[i] === '') continue outer;
        try {
          params.push(decodeURIComponent(parts[i]!));
        } catch {
          continue outer;
        }
      } else if (want !== parts[i]) continue outer;
    }
    return { route: e.route, params };
  }
  return undefined;
}

export async function startMockUpstream(opts: MockOptions = {}): Promise<MockUpstream> {
  const protocol: MockProtocol = opts.protocol ?? 'openai';
  if (protocol !== 'openai' && protocol !== 'anthropic') throw new RangeError(`mock upstream: protocol must be openai or anthropic, got ${String(protocol)}`);
  const host = opts.host ?? '127.0.0.1';
  const port = nonNegative('port', opts.port, 0, 65535);
  let settings = checkSettings(opts, DEFAULT_SETTINGS);
  const maxBodyBytes = nonNegative('maxBodyBytes', opts.maxBodyBytes, DEFAULT_MAX_BODY);
  const random = opts.seed === undefined ? Math.random : seededRandom(opts.seed);
  const { onRequest, faults: faultHook, apiKeys } = opts;

  const stats = new MockStats(opts.recentLimit ?? 100);
  const ids = new Ids();
  const requestIdPrefix = 'req_mock' + randomBytes(4).toString('hex');
  const wire = new Wire(stats, protocol === 'anthropic' ? anthropicWire(requestIdPrefix) : openaiWire(requestIdPrefix));
  const table = protocol === 'anthropic' ? anthropicTable(ids) : openaiTable(ids, new ResponseStore(opts.responseStoreLimit ?? 1000));

  function onClose(ex: Exchange): void {
    stats.inflight--;
    if (ex.res.writableFinished) stats.completed++;
    else if (!ex.selfReset) stats.aborted++;
    ex.cancel();
    stats.changed();
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

  function refuse(ex: Exchange, reply: Extract<Reply, { kind: 'error' }>): void {
    stats.invalid++;
    wire.sendError(ex, reply.status, reply.message, reply.param ?? null, reply.code);
  }

  function authorize(req: http.IncomingMessage): Reply | undefined {
    if (protocol === 'anthropic') return anthropicAuth(req, apiKeys);
    if (!apiKeys) return undefined;
    const auth = req.headers.authorization ?? '';
    const key = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    if (apiKeys.includes(key)) return undefined;
    return errorReply(401, 'Incorrect API key provided (ibex mock upstream).', null);
  }

  function faultsFor(req: http.IncomingMessage, rec: RecordedRequest, modelCall: boolean): RequestFaults {
    const s = settings;
    // Listing models, lookups and token counts are not generation: no latency, no failRate.
    const f: RequestFaults = modelCall
      ? { latencyMs: s.latencyMs, ttfbMs: s.ttfbMs, chunks: s.chunks, chunkIntervalMs: s.chunkIntervalMs, stallMs: 0, gzip: false }
      : { latencyMs: 0, ttfbMs: 0, chunks: s.chunks, chunkIntervalMs: 0, stallMs: 0, gzip: false };
    if (faultHook) mergeDefined(f, faultHook(rec));
    applyHeaderFaults(f, req.headers);
    if (modelCall && f.fail === undefined && s.failRate > 0 && (s.failRate >= 1 || random() < s.failRate)) f.fail = s.failStatus;
    return f;
  }

  async function serve(call: Omit<Call, 'faults'>, ex: Exchange, route: Route, parsed: boolean, rawText: string | undefined): Promise<void> {
    const denied = authorize(call.req);
    if (denied?.kind === 'error') return refuse(ex, denied);
    if (route.body && !parsed) {
      const message =
        protocol === 'anthropic'
          ? 'There was an issue with the format of your request body: it is not a JSON object.'
          : rawText === undefined
            ? 'The request body must be a JSON object.'
            : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)";
      return refuse(ex, { kind: 'error', status: 400, message });
    }
    let faults: RequestFaults;
    const invalid = route.validate?.(call);
    if (invalid?.kind === 'error') return refuse(ex, invalid);
    try {
      faults = faultsFor(call.req, call.rec, route.model);
    } catch (err) {
      if (!(err instanceof MockRequestError)) throw err;
      return refuse(ex, { kind: 'error', status: err.status, message: err.message, param: err.param });
    }
    const stream = route.stream?.(call.body) ?? false;
    const delay = stream ? faults.ttfbMs : faults.latencyMs;
    if (delay > 0 && !(await ex.sleep(delay))) return;
    if (faults.reset === 'before-headers') return wire.resetSocket(ex);
    if (faults.fail !== undefined) {
      stats.failed++;
      return wire.sendError(ex, faults.fail);
    }
    const reply = route.reply({ ...call, faults });
    if (reply.kind === 'json') return wire.sendJson(ex, reply.json, faults);
    if (reply.kind === 'sse') return wire.sendSse(ex, reply.sse, faults);
    return refuse(ex, reply);
  }

  function readBody(req: http.IncomingMessage, ex: Exchange, path: string, done: (raw: Buffer) => void): void {
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
        return refuse(ex, { kind: 'error', status: 413, message: `Request body is larger than ${maxBodyBytes} bytes.` });
      }
      try {
        done(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
      } catch (err) {
        internalError(ex, err);
      }
    });
    // A client that disconnects mid-upload is counted by the response's close handler.
    req.on('error', () => {});
  }

  function internalError(ex: Exchange, err: unknown): void {
    if (ex.closed) return;
    if (ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    wire.sendError(ex, 500, `ibex mock upstream bug: ${err instanceof Error ? err.message : String(err)}`);
  }

  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.inflight++;
    const ex = new Exchange(res, stats.requests);
    res.on('close', () => onClose(ex));
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? NO_QUERY : new URLSearchParams(url.slice(q + 1));
    const method = req.method ?? 'GET';
    const found = match(table, method, path);
    if (!found) {
      record(req, ex, path, undefined);
      const message = protocol === 'anthropic' ? `Not found: ${method} ${path}` : `Invalid URL (${method} ${path})`;
      return wire.sendError(ex, 404, message);
    }
    const { route, params } = found;
    const run = (body: Record<string, unknown> | undefined, rec: RecordedRequest, rawText?: string) =>
      serve({ req, rec, body: body ?? {}, params, query }, ex, route, body !== undefined, rawText).catch((err) => internalError(ex, err));
    if (!route.body) {
      run(undefined, record(req, ex, path, undefined));
      return;
    }
    readBody(req, ex, path, (raw) => {
      const text = raw.toString('utf8');
      let parsed: unknown;
      let parseFailed = false;
      try {
        parsed = JSON.parse(text);
      } catch {
        parseFailed = true;
      }
      const body = isObject(parsed) ? parsed : undefined;
      const rec = record(req, ex, path, body, body ? undefined : text);
      run(body, rec, parseFailed ? text : undefined);
    });
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
  const origin = `http://${urlHost(host)}:${boundPort}`;

  return {
    url: protocol === 'anthropic' ? origin : `${origin}/v1`,
    origin,
    port: boundPort,
    protocol,
    stats,
    configure: (patch) => {
      settings = checkSettings(patch, settings);
    },
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

function openaiTable(ids: Ids, store: ResponseStore): RouteEntry[] {
  const startedAt = Math.floor(Date.now() / 1000);
  const modelsJson = modelsBody(startedAt);
  const r = responsesRoutes(ids, store);
  return [
    entry('POST /v1/chat/completions', chatRoute(ids)),
    entry('GET /v1/models', { body: false, model: false, reply: () => ({ kind: 'json', json: modelsJson }) }),
    entry('GET /v1/models/:id', {
      body: false,
      model: false,
      validate: ({ params }) =>
        modelBody(params[0]!, startedAt) ? undefined : errorReply(404, `The model '${params[0]}' does not exist`, 'model', 'model_not_found'),
      reply: ({ params }) => ({ kind: 'json', json: modelBody(params[0]!, startedAt)! }),
    }),
    entry('POST /v1/completions', completionsRoute(ids)),
    entry('POST /v1/embeddings', embeddingsRoute()),
    entry('POST /v1/moderations', moderationsRoute(ids)),
    entry('POST /v1/responses', r.create),
    entry('POST /v1/responses/input_tokens', r.inputTokens),
    entry('GET /v1/responses/:id', r.retrieve),
    entry('DELETE /v1/responses/:id', r.remove),
    entry('POST /v1/responses/:id/cancel', r.cancel),
    entry('GET /v1/responses/:id/input_items', r.listInputItems),
  ];
}

function anthropicTable(ids: Ids): RouteEntry[] {
  const r = anthropicRoutes(ids, new PromptCache());
  return [
    entry('POST /v1/messages', r.messages),
    entry('POST /v1/messages/count_tokens', r.countTokens),
    entry('GET /v1/models', r.models),
    entry('GET /v1/models/:id', r.model),
  ];
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
