// A one-shot abort signal for undici that is an EventEmitter, not an AbortController. undici accepts
// either; an AbortController costs an EventTarget, an AbortSignal and undici's listener bookkeeping
// on it for every request (measured: ~3 % of the gateway's CPU under load), and almost every request
// ends without ever aborting.
import { EventEmitter } from 'node:events';

export class AbortEmitter extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** What the providers accept: either kind, as undici's `signal` option does. */
export type UpstreamSignal = AbortSignal | AbortEmitter;
