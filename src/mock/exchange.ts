// One request/response on the wire, and the writers that put a reply on it while honouring the
// request's faults (delays, resets, stalls, gzip). Shared by every route of both protocols.

import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { RequestFaults } from './faults.js';
import type { SseReply } from './route.js';
import type { MockStats } from './stats.js';

/** Per-request state: lets delays be cancelled the moment the connection closes. */
export class Exchange {
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

/** A protocol's error reply: the JSON body and any extra headers (e.g. retry-after on 429). */
export type ErrorShaper = (
  status: number,
  message: string | undefined,
  param: string | null,
  code: string | null | undefined,
  requestId: string,
) => { json: string; headers?: http.OutgoingHttpHeaders };

/** How a protocol labels its replies: the error body, and the header carrying the request id. */
export interface WireProtocol {
  shapeError: ErrorShaper;
  /** `x-request-id` (OpenAI) or `request-id` (Anthropic); sent on every reply */
  requestIdHeader: string;
  /** request ids are this prefix + the arrival number, unique per mock instance */
  requestIdPrefix: string;
}

const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
});

export class Wire {
  constructor(
    private readonly stats: MockStats,
    private readonly protocol: WireProtocol,
  ) {}

  requestId(ex: Exchange): string {
    return this.protocol.requestIdPrefix + ex.seq.toString(36);
  }

  resetSocket(ex: Exchange): void {
    ex.selfReset = true;
    this.stats.resets++;
    ex.res.destroy();
  }

  sendError(ex: Exchange, status: number, message?: string, param: string | null = null, code?: string | null): void {
    const requestId = this.requestId(ex);
    const { json, headers: extra } = this.protocol.shapeError(status, message, param, code, requestId);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
      [this.protocol.requestIdHeader]: requestId,
      ...extra,
    };
    ex.res.writeHead(status, headers);
    ex.res.end(json);
  }

  /** Writes a JSON reply, honouring gzip, mid-body reset and mid-body stall. */
  async sendJson(ex: Exchange, json: string, f: RequestFaults): Promise<void> {
    const res = ex.res;
    const body: string | Buffer = f.gzip ? gzipSync(json) : json;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
      [this.protocol.requestIdHeader]: this.requestId(ex),
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
      res.write(buf.subarray(0, half), () => this.resetSocket(ex));
      return;
    }
    res.write(buf.subarray(0, half));
    if (!(await ex.sleep(f.stallMs))) return;
    res.end(buf.subarray(half));
  }

  /**
   * Writes an SSE reply: `first` with the headers, then `rest` paced by `chunkIntervalMs`
   * (after an optional stall), then `tail`. A mid-stream reset cuts it after `first`.
   */
  async sendSse(ex: Exchange, sse: SseReply, f: RequestFaults): Promise<void> {
    const res = ex.res;
    res.writeHead(200, { ...SSE_HEADERS, [this.protocol.requestIdHeader]: this.requestId(ex) });
    if (f.reset === 'mid-stream') {
      res.write(sse.first, () => this.resetSocket(ex));
      return;
    }
    if (f.chunkIntervalMs <= 0 && f.stallMs <= 0) {
      // Unpaced: one write, the cheapest possible stream.
      res.end(sse.first + sse.rest.join('') + sse.tail);
      return;
    }
    res.write(sse.first);
    if (f.stallMs > 0 && !(await ex.sleep(f.stallMs))) return;
    for (const event of sse.rest) {
      if (f.chunkIntervalMs > 0 && !(await ex.sleep(f.chunkIntervalMs))) return;
      if (ex.closed) return;
      res.write(event);
    }
    if (!ex.closed) res.end(sse.tail);
  }
}
