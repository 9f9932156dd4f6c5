// Forwarding (seed milestones 2.1.2, 2.1.3): sends the body upstream and writes the answer to the
// client. Streams are forwarded chunk by chunk as they arrive, honouring the client's backpressure,
// and copied once into a bounded tap for the checkpoint. A client that goes away aborts the upstream
// request at once (the caller wires `signal` to the client's socket).
//
// An upstream answer is checked, not trusted: a non-streaming answer must be a JSON object no larger
// than the provider's bound (else 502 upstream_invalid_response, nothing sent); a 204 or 3xx is no
// answer either; a stream that ends without `data: [DONE]` is recorded as incomplete. The gateway's
// own secrets are masked in what the client gets and what is stored (redact-reply.ts).
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import { registeredSecretBytes } from '../log.js';
import type { Provider } from '../providers/types.js';
import { mapUpstreamException, mapUpstreamStatus } from '../providers/openai/error-map.js';
import type { InboundProtocol, ReplyFacts } from '../protocols/types.js';
import type { RequestContext } from './context.js';
import type { UpstreamSignal } from '../util/abort-emitter.js';
import { BodyTooLargeError, decodedBody, readAll } from './decode.js';
import { redactBody, StreamRedactor } from './redact-reply.js';
import { cutByShutdown, UPSTREAM_INCOMPLETE } from './record.js';
import type { Translation } from '../protocols/translate.js';

/** Bound of the stream copy kept for the checkpoint (the client always gets everything). */
const TAP_MAX_BYTES = 8 * 1024 * 1024;
/** Bound of a non-streaming answer when the provider names none (IBEX_MAX_RESPONSE_BYTES's default). */
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Bound of an upstream error body we read to map it. */
const ERROR_BODY_MAX = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export interface ForwardResult {
  /**
   * A complete non-streaming answer to send as-is (a JSON object, secrets masked; ctx already holds
   * its reply, finish reason and usage), or null when the stream was already written
   */
  json: Buffer | null;
  /** Which key of the provider's pool served (for the affinity of a stateful continuation) */
  keyIndex: number | null;
}

/** Optional hooks of other stages into forwarding (issue 17: policies, cache, OpenTelemetry). */
export interface ForwardExtras {
  /**
   * Rewrites each chunk of a streamed reply before it is copied for the checkpoint and written (the
   * policies' stream filter, the cache's copy); null or an empty buffer: nothing to write now.
   */
  transform?: (chunk: Buffer) => Buffer | null | Promise<Buffer | null>;
  /** Extra headers for the upstream request (`traceparent`) */
  upstreamHeaders?: Record<string, string>;
}

/** The provider's response headers, for the caller's headers (see passthroughHeaders). */
export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/**
 * Dispatches upstream. Throws IbexError / UpstreamPassthroughError for anything to send as an error
 * reply (nothing has been written to the client then). Once streaming has started, errors are reported
 * inside the stream and recorded on ctx instead of thrown.
 */
export interface UpstreamCall {
  /** Path under the provider's base URL, as an OpenAI path (`/chat/completions`); the kind maps it */
  path: string;
  /** The serialised body for this provider (translated when it speaks another wire) */
  body: string;
  /** The model asked of the provider (Azure puts it in the path) */
  model: string;
  /** How the provider's reply becomes the caller's, when they speak different wires */
  translation: Translation | null;
  /** Send with this key of the pool only (a continuation of state held in that key's account) */
  keyIndex?: number;
}

export async function forward(
  ctx: RequestContext,
  protocol: InboundProtocol<never>,
  provider: Provider,
  call: UpstreamCall,
  signal: UpstreamSignal,
  startStream: (upstreamHeaders: UpstreamHeaders) => ServerResponse,
  onHeaders: (upstreamHeaders: UpstreamHeaders) => void,
  extras: ForwardExtras = {}, // [issue 17]
): Promise<ForwardResult> {
  // The first attempt's start: with a fallback chain, every attempt is provider time.
  ctx.upstreamStart ??= performance.now();
  // A failed earlier attempt ended the upstream time; this one is still running (Server-Timing of a
  // stream is computed before it ends).
  ctx.upstreamEnd = null;
  let upstream;
  try {
    upstream = await provider.send(
      // [issue 17] upstreamHeaders: the traceparent of the request's span
      { method: 'POST', path: call.path, body: call.body, model: call.model, ...(extras.upstreamHeaders ? { headers: extras.upstreamHeaders } : {}) },
      { requestId: ctx.correlationId, signal, ...(call.keyIndex !== undefined ? { keyIndex: call.keyIndex } : {}) },
    );
  } catch (err) {
    ctx.upstreamEnd = performance.now();
    if (signal.aborted) throw clientGone(ctx);
    throw mapUpstreamException(err);
  }
  ctx.upstreamHeaders = performance.now();

  if (upstream.status >= 400) {
    const text = await readBounded(decodedBody(upstream.body, upstream.headers['content-encoding']), ERROR_BODY_MAX).catch(() => '');
    ctx.upstreamEnd = performance.now();
    throw mapUpstreamStatus(upstream.status, upstream.headers, text);
  }

  if (!isAnswerStatus(upstream.status)) {
    // No body to forward (204) or somewhere else to go (3xx: undici follows no redirect, nor may we:
    // the request carries the provider key). Either way the caller would get an empty 200.
    upstream.body.dump().catch(() => {});
    ctx.upstreamEnd = performance.now();
    throw invalidResponse(`The provider answered ${upstream.status} instead of a completion.`);
  }

  onHeaders(upstream.headers);
  const secrets = registeredSecretBytes();
  const maxBytes = provider.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const contentType = String(upstream.headers['content-type'] ?? '');
  const body = decodedBody(upstream.body, upstream.headers['content-encoding']);
  if (!ctx.stream || !contentType.includes('text/event-stream')) {
    let buf: Buffer;
    try {
      buf = await readAll(body, maxBytes);
    } catch (err) {
      ctx.upstreamEnd = performance.now();
      if (signal.aborted) throw clientGone(ctx);
      if (err instanceof BodyTooLargeError) {
        throw invalidResponse(`The provider's answer is larger than the gateway's limit (${maxBytes} bytes, IBEX_MAX_RESPONSE_BYTES).`);
      }
      throw mapUpstreamException(err);
    }
    ctx.upstreamEnd = performance.now();
    if (secrets.length) buf = redactBody(buf, secrets);
    // The one parse of the answer: it proves the answer is a JSON object and feeds the checkpoint.
    let answer = parseObject(buf);
    if (!answer) throw invalidResponse(`The provider answered ${upstream.status} with a body that is not a JSON object.`);
    if (call.translation) {
      answer = call.translation.response(answer) as object;
      buf = Buffer.from(JSON.stringify(answer));
    }
    ctx.bytesOut = buf.length;
    recordFacts(ctx, protocol.summarise(answer));
    return { json: buf, keyIndex: upstream.keyIndex ?? null };
  }

  const res = startStream(upstream.headers);
  // What is stored of a stream is bounded by the smaller of the tap's bound and the answer bound.
  const tap = protocol.createReassembler(Math.min(TAP_MAX_BYTES, maxBytes));
  const redactor = secrets.length ? new StreamRedactor(secrets) : null;
  const translator = call.translation?.stream() ?? null;
  // What ibex added to the request for itself (usage.ts) is taken out of what the caller gets; the tap sees all.
  const strip = ctx.streamFilter;
  const flushHeld = (ended: boolean) => {
    // A translated stream closes with the translator's last events (not after an upstream error: the
    // in-band error event ends it instead).
    const last = ended && translator ? translator.end() : '';
    if (last && !res.destroyed) {
      const c = redactor ? redactor.push(Buffer.from(last)) : Buffer.from(last);
      if (c.length) {
        tap.push(c);
        res.write(strip ? strip.push(c) : c);
      }
    }
    const held = redactor?.end();
    if (held && !res.destroyed) {
      tap.push(held);
      res.write(strip ? strip.push(held) : held);
    }
    const rest = strip?.end();
    if (rest?.length && !res.destroyed) res.write(rest);
  };
  try {
    const transform = extras.transform; // [issue 17]
    for await (const upstreamChunk of body as AsyncIterable<Buffer>) {
      const raw = translator ? Buffer.from(translator.push(upstreamChunk)) : upstreamChunk;
      let chunk = redactor ? redactor.push(raw) : raw;
      // [issue 17] policies' stream filter / cache copy: awaited only when it answers with a promise
      if (transform) {
        const t = transform(chunk);
        chunk = (t instanceof Promise ? await t : t) ?? EMPTY;
      }
      if (chunk.length === 0) continue;
      tap.push(chunk);
      const out = strip ? strip.push(chunk) : chunk;
      if (out.length && !res.write(out)) await drained(res);
      if (res.destroyed) break;
    }
    ctx.upstreamEnd = performance.now();
    if (res.destroyed) {
      ctx.clientAborted = true;
      body.destroy();
    } else {
      flushHeld(true);
    }
  } catch (err) {
    ctx.upstreamEnd = performance.now();
    if (signal.aborted || res.destroyed) {
      ctx.clientAborted = true;
    } else {
      // The stream broke after bytes went out: no retry is possible. Tell the client in-band, in the
      // shape its protocol's clients understand, and end the stream.
      flushHeld(false);
      const e = mapUpstreamException(err);
      ctx.errorCode = e.code;
      ctx.status = e.status;
      res.write(protocol.streamErrorEvent({ status: e.status, code: e.code, type: e.type, message: e.message, param: e.param }, tap));
    }
  }
  if (!res.destroyed) res.end();
  // The socket's 'close' (which tells a caller that left from a gateway that is shutting down, see
  // chat.ts) comes a little after `destroyed`: let it arrive before the request is recorded.
  else if (!res.closed) await closed(res);
  const r = tap.finish();
  ctx.bytesOut = r.bytes;
  recordFacts(ctx, r);
  if (r.streamError && !ctx.errorCode) {
    ctx.errorCode = 'upstream_error';
  } else if (!r.completed && !ctx.errorCode && !ctx.clientAborted) {
    // The provider closed the stream cleanly but never said it was finished: the client has all that
    // was sent, and the record says the reply may be cut.
    ctx.errorCode = UPSTREAM_INCOMPLETE;
  }
  return { json: null, keyIndex: upstream.keyIndex ?? null };
}

/** 2xx with a body. 1xx never reaches us; 4xx/5xx are mapped before this. */
function isAnswerStatus(status: number): boolean {
  return status >= 200 && status < 300 && status !== 204 && status !== 205;
}

function parseObject(buf: Buffer): object | null {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** What the checkpoint keeps of a reply: its text, or its tool calls when it has no text. */
function recordFacts(ctx: RequestContext, f: ReplyFacts): void {
  ctx.reply = f.text !== null ? f.text : f.toolCalls.length ? JSON.stringify({ tool_calls: f.toolCalls }) : null;
  ctx.replyParts = { text: f.text, toolCalls: f.toolCalls };
  ctx.finishReason = f.finishReason;
  ctx.usage = f.usage;
  ctx.responseId = f.responseId;
}

function invalidResponse(message: string): IbexError {
  return new IbexError('IBEX_ERR_UPSTREAM_INVALID_RESPONSE', { message });
}

function clientGone(ctx: RequestContext): IbexError {
  if (cutByShutdown(ctx)) return new IbexError('IBEX_ERR_SHUTTING_DOWN', { message: 'The gateway shut down before the provider answered.' });
  // Nothing can be sent anyway; the status is what traces record (nginx's 499 convention).
  return new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'client closed the request', status: 499 });
}

/** Resolves on the response's 'close' (bounded: a socket that is destroyed always closes soon). */
function closed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    timer.unref();
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= max) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(parts).toString('utf8').slice(0, max);
}

export type ForwardError = IbexError | UpstreamPassthroughError;
