// Forwarding (seed milestones 2.1.2, 2.1.3): sends the body upstream and writes the answer to the
// client. Streams are forwarded chunk by chunk as they arrive, honouring the client's backpressure,
// and copied once into a bounded tap for the checkpoint. A client that goes away aborts the upstream
// request at once (the caller wires `signal` to the client's socket).
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import type { Provider } from '../providers/types.js';
import { mapUpstreamException, mapUpstreamStatus } from '../providers/openai/error-map.js';
import { StreamTap, toUsage, type RawUsage } from '../providers/openai/stream-tap.js';
import type { RequestContext } from './context.js';
import type { UpstreamSignal } from '../util/abort-emitter.js';
import { decodedBody, readAll } from './decode.js';

/** Bound of the stream copy kept for the checkpoint (the client always gets everything). */
const TAP_MAX_BYTES = 8 * 1024 * 1024;
/** Bound of an upstream error body we read to map it. */
const ERROR_BODY_MAX = 64 * 1024;

export interface ForwardResult {
  /** A complete non-streaming answer to send as-is, or null when the stream was already written */
  json: Buffer | null;
}

/**
 * Dispatches upstream. Throws IbexError / UpstreamPassthroughError for anything to send as an error
 * reply (nothing has been written to the client then). Once streaming has started, errors are reported
 * inside the stream and recorded on ctx instead of thrown.
 */
export async function forward(
  ctx: RequestContext,
  provider: Provider,
  requestBody: string,
  signal: UpstreamSignal,
  startStream: () => ServerResponse,
): Promise<ForwardResult> {
  ctx.upstreamStart = performance.now();
  let upstream;
  try {
    upstream = await provider.chatCompletions(requestBody, { requestId: ctx.correlationId, signal });
  } catch (err) {
    ctx.upstreamEnd = performance.now();
    if (signal.aborted) throw clientGone();
    throw mapUpstreamException(err);
  }
  ctx.upstreamHeaders = performance.now();

  if (upstream.status >= 400) {
    const text = await readBounded(decodedBody(upstream.body, upstream.headers['content-encoding']), ERROR_BODY_MAX).catch(() => '');
    ctx.upstreamEnd = performance.now();
    throw mapUpstreamStatus(upstream.status, upstream.headers, text);
  }

  const contentType = String(upstream.headers['content-type'] ?? '');
  const body = decodedBody(upstream.body, upstream.headers['content-encoding']);
  if (!ctx.stream || !contentType.includes('text/event-stream')) {
    let buf: Buffer;
    try {
      buf = await readAll(body);
    } catch (err) {
      ctx.upstreamEnd = performance.now();
      if (signal.aborted) throw clientGone();
      throw mapUpstreamException(err);
    }
    ctx.upstreamEnd = performance.now();
    ctx.bytesOut = buf.length;
    return { json: buf };
  }

  const res = startStream();
  const tap = new StreamTap(TAP_MAX_BYTES);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      tap.push(chunk);
      if (!res.write(chunk)) await drained(res);
      if (res.destroyed) break;
    }
    ctx.upstreamEnd = performance.now();
    if (res.destroyed) {
      ctx.clientAborted = true;
      body.destroy();
    }
  } catch (err) {
    ctx.upstreamEnd = performance.now();
    if (signal.aborted || res.destroyed) {
      ctx.clientAborted = true;
    } else {
      // The stream broke after bytes went out: no retry is possible. Tell the client in-band, in the
      // shape OpenAI clients understand, and end the stream.
      const e = mapUpstreamException(err);
      ctx.errorCode = e.code;
      ctx.status = e.status;
      res.write(`data: ${JSON.stringify(e.toBody())}\n\n`);
    }
  }
  if (!res.destroyed) res.end();
  ctx.bytesOut = tap.bytes;
  const r = tap.reassemble();
  ctx.reply = r.text;
  ctx.finishReason = r.finishReason;
  ctx.usage = r.usage;
  if (r.streamError && !ctx.errorCode) {
    ctx.errorCode = 'upstream_error';
  }
  return { json: null };
}

/** Pulls reply text, finish reason and usage out of a non-streaming completion (after it was sent). */
export function summariseCompletion(ctx: RequestContext, json: Buffer): void {
  try {
    const v = JSON.parse(json.toString('utf8')) as {
      choices?: { message?: { content?: unknown }; finish_reason?: string | null }[];
      usage?: RawUsage;
    };
    const c = v.choices?.[0];
    ctx.reply = typeof c?.message?.content === 'string' ? c.message.content : c?.message ? JSON.stringify(c.message) : null;
    ctx.finishReason = c?.finish_reason ?? null;
    ctx.usage = toUsage(v.usage);
  } catch {
    ctx.reply = json.toString('utf8').slice(0, 10_000);
  }
}

function clientGone(): IbexError {
  // Nothing can be sent anyway; the status is what traces record (nginx's 499 convention).
  return new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'client closed the request', status: 499 });
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
