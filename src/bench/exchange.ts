// One request/response exchange of the bench load generators (closed loop in load.ts, open loop in
// open-load.ts): sends, reads the whole body, and reports what the generators record — when the
// first body byte and the last one arrived, the gaps between body chunks, the Server-Timing overhead
// and whether a stream ended with [DONE]. Never throws: a failure comes back as an error kind.
import type { Dispatcher, Pool } from 'undici';

export interface ExchangeResult {
  /** null when the exchange succeeded (2xx, and for streams the [DONE] marker seen) */
  errorKind: string | null;
  /** first body byte (streams only; 0n when none) */
  firstNs: bigint;
  /** last body byte, or the failure */
  endNs: bigint;
  /** streams with keepGaps: gaps between consecutive body chunks (ms) */
  gaps: number[] | null;
  /** `Server-Timing: overhead;dur=` of a successful reply */
  serverOverhead: number | undefined;
}

const NS_PER_MS = 1_000_000;
export const toMs = (ns: bigint): number => Number(ns) / NS_PER_MS;
const DONE_MARKER = 'data: [DONE]';
const SERVER_TIMING_OVERHEAD = /(?:^|,)\s*overhead\s*;(?:[^,]*;)?\s*dur=([0-9.]+)/;

/** The `overhead;dur=` value of a Server-Timing header, or undefined. */
export function parseServerTimingOverhead(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  const m = SERVER_TIMING_OVERHEAD.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : undefined;
}

/** A short, stable name for a failed request. */
export function errorKind(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'reset';
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_ABORTED':
      return 'aborted';
    default:
      return code ? `error_${code}` : 'error';
  }
}

export async function exchange(pool: Pool, options: Dispatcher.RequestOptions, stream: boolean, keepGaps: boolean): Promise<ExchangeResult> {
  try {
    const res = await pool.request(options);
    const okStatus = res.statusCode >= 200 && res.statusCode < 300;
    let firstNs = 0n;
    let prevNs = 0n;
    let tail = '';
    const gaps: number[] | null = stream && keepGaps && okStatus ? [] : null;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (!stream || !okStatus) continue;
      const now = process.hrtime.bigint();
      if (firstNs === 0n) firstNs = now;
      else gaps?.push(toMs(now - prevNs));
      prevNs = now;
      // Keep only the end of the stream: enough to see the [DONE] marker, O(1) per chunk.
      tail = (tail + chunk.toString('latin1')).slice(-64);
    }
    const endNs = process.hrtime.bigint();
    let kind: string | null = null;
    if (!okStatus) kind = `http_${res.statusCode}`;
    else if (stream && !tail.includes(DONE_MARKER)) kind = 'stream_incomplete';
    return { errorKind: kind, firstNs, endNs, gaps, serverOverhead: kind ? undefined : parseServerTimingOverhead(res.headers['server-timing']) };
  } catch (err) {
    return { errorKind: errorKind(err), firstNs: 0n, endNs: process.hrtime.bigint(), gaps: null, serverOverhead: undefined };
  }
}
