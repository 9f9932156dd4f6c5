// `ibex tail --json` (or stdout not a terminal): one Trace JSON per line on `out`, nothing else
// there — connection news goes to `log` (stderr), so `ibex tail --json | jq` always parses.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { tailTraces, type ConnectionStatus } from './client.js';

export interface TailNdjsonOptions {
  url: string;
  token: string;
  agent?: string;
  out: Writable;
  /** One human line of status; the command points it at stderr */
  log: (line: string) => void;
  signal: AbortSignal;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Runs until `signal` aborts or `out` closes (e.g. `| head -n 5`); throws UserError on a refused token. */
export async function runTailNdjson(opts: TailNdjsonOptions): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  // A closed pipe is a normal way to stop reading, not an error to report. The listener stays
  // once it fired: the stream may emit the same error again after we return.
  let outFailed = false;
  const onOutError = () => {
    outFailed = true;
    stop.abort();
  };
  opts.out.on('error', onOutError);
  let lastState: ConnectionStatus['state'] | undefined;
  try {
    for await (const trace of tailTraces({
      url: opts.url,
      token: opts.token,
      agent: opts.agent,
      signal: stop.signal,
      minBackoffMs: opts.minBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      onStatus: (s) => {
        if (s.state === 'connected' && lastState !== 'connected') opts.log(`tail: connected to ${opts.url}`);
        if (s.state === 'disconnected' && lastState !== 'disconnected') {
          opts.log(`tail: disconnected (${s.reason ?? 'unknown'}), reconnecting…`);
        }
        if (s.state !== 'connecting') lastState = s.state;
      },
      onDropped: (n) => opts.log(`tail: the gateway dropped ${n} event(s): this reader fell behind`),
    })) {
      if (stop.signal.aborted || opts.out.destroyed) break;
      // Respect backpressure: while stdout is full we stop reading the socket, and the gateway
      // drops (and reports) events for us rather than buffering them.
      if (!opts.out.write(`${JSON.stringify(trace)}\n`)) {
        await once(opts.out, 'drain', { signal: stop.signal }).catch(() => {});
      }
    }
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    if (!outFailed) opts.out.off('error', onOutError);
  }
}
