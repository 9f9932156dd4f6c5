// Client of `GET /admin/v1/events`: yields the gateway's live traces and survives the gateway
// going away or restarting — it reconnects with exponential backoff and tells the UI what it is
// doing through `onStatus`. Only a refused admin token (or a server without the route) ends it,
// because retrying those cannot help.
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { UserError } from '../errors.js';
import type { Trace } from '../stores/ports.js';
import { SseParser, type SseEvent } from './sse-parser.js';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface ConnectionStatus {
  state: ConnectionState;
  /** why we are disconnected (e.g. "ECONNREFUSED", "stream ended", "HTTP 502") */
  reason?: string;
  /** when disconnected: ms until the next attempt */
  retryInMs?: number;
}

export interface TailClientOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  token: string;
  /** Server-side agent filter */
  agent?: string;
  signal?: AbortSignal;
  onStatus?: (status: ConnectionStatus) => void;
  /** The gateway dropped `count` events because this client fell behind. */
  onDropped?: (count: number) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * No bytes (not even the 15 s heartbeat) for this long → the connection is presumed dead
   * (e.g. the host vanished without closing it) and is replaced. Default 45 s.
   */
  idleTimeoutMs?: number;
  /** undici dispatcher to connect with (default: the global one) */
  dispatcher?: Dispatcher;
}

export function eventsUrl(base: string, agent?: string): string {
  const url = new URL('admin/v1/events', base.endsWith('/') ? base : `${base}/`);
  if (agent) url.searchParams.set('agent', agent);
  return url.toString();
}

/** Next delay: doubles from min up to max. */
export function nextBackoff(current: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, current * 2));
}

/**
 * Live traces, in arrival order, until `signal` aborts (then it returns quietly) or the gateway
 * refuses the token (throws UserError). Breaking out of the loop closes the connection.
 */
export async function* tailTraces(opts: TailClientOptions): AsyncGenerator<Trace, void, undefined> {
  const min = opts.minBackoffMs ?? 250;
  const max = opts.maxBackoffMs ?? 5_000;
  const idle = opts.idleTimeoutMs ?? 45_000;
  const target = eventsUrl(opts.url, opts.agent);
  const status = opts.onStatus ?? (() => {});
  let backoff = min;

  while (!opts.signal?.aborted) {
    status({ state: 'connecting' });
    let reason: string;
    try {
      const res = await request(target, {
        method: 'GET',
        headers: { authorization: `Bearer ${opts.token}`, accept: 'text/event-stream' },
        signal: opts.signal,
        headersTimeout: 10_000,
        bodyTimeout: idle,
        dispatcher: opts.dispatcher,
      });
      if (res.statusCode === 401 || res.statusCode === 403) {
        await res.body.dump();
        throw new UserError(
          `the gateway at ${opts.url} refused the admin token (HTTP ${res.statusCode})`,
          'pass --token, set IBEX_ADMIN_TOKEN, or use the token in $IBEX_HOME/admin-token of that gateway',
        );
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        throw new UserError(`${opts.url} has no ${new URL(target).pathname} route`, 'is --url pointing at an ibex gateway?');
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        reason = `HTTP ${res.statusCode}`;
      } else {
        status({ state: 'connected' });
        backoff = min;
        const ready: Trace[] = [];
        const parser = new SseParser((e) => onEvent(e, ready, opts.onDropped));
        res.body.setEncoding('utf8');
        try {
          for await (const chunk of res.body) {
            parser.push(chunk as string);
            // Take the batch out before yielding: the consumer may stop us mid-batch.
            while (ready.length > 0) yield ready.shift()!;
          }
          reason = 'stream ended';
        } finally {
          // Reached on consumer break/return too: release the socket.
          if (!res.body.destroyed) res.body.destroy();
        }
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (opts.signal?.aborted) return;
      reason = describeError(err);
    }
    if (opts.signal?.aborted) return;
    status({ state: 'disconnected', reason, retryInMs: backoff });
    try {
      await sleep(backoff, undefined, { signal: opts.signal });
    } catch {
      return; // aborted while waiting
    }
    backoff = nextBackoff(backoff, min, max);
  }
}

function onEvent(e: SseEvent, ready: Trace[], onDropped?: (count: number) => void): void {
  try {
    if (e.event === 'trace') {
      const trace = JSON.parse(e.data) as Trace;
      if (trace && typeof trace === 'object' && typeof trace.requestId === 'string') ready.push(trace);
    } else if (e.event === 'dropped') {
      const { count } = JSON.parse(e.data) as { count: number };
      if (typeof count === 'number') onDropped?.(count);
    }
  } catch {
    // A malformed event is skipped; the stream itself is still good.
  }
}

function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
    if (e.cause && typeof e.cause.code === 'string') return e.cause.code;
    if (typeof e.message === 'string') return e.message;
  }
  return String(err);
}
