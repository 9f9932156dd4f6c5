// The seam between where traces come from (the SSE client, or a test) and the TUI: a tiny
// emitter the UI subscribes to, so TailApp never knows about HTTP.
import type { Trace } from '../stores/ports.js';
import type { ConnectionStatus } from './client.js';

export interface TailListener {
  trace(trace: Trace): void;
  status(status: ConnectionStatus): void;
  /** The gateway dropped `count` events for this client. */
  dropped(count: number): void;
}

export interface TailFeed {
  /** Returns an unsubscribe function. */
  subscribe(listener: TailListener): () => void;
}

export class TailEmitter implements TailFeed {
  private readonly listeners = new Set<TailListener>();
  /** Replayed to late subscribers so the UI shows the real state from its first frame. */
  private lastStatus: ConnectionStatus | undefined;

  subscribe(listener: TailListener): () => void {
    this.listeners.add(listener);
    if (this.lastStatus) listener.status(this.lastStatus);
    return () => this.listeners.delete(listener);
  }

  trace(trace: Trace): void {
    for (const l of this.listeners) l.trace(trace);
  }

  status(status: ConnectionStatus): void {
    this.lastStatus = status;
    for (const l of this.listeners) l.status(status);
  }

  dropped(count: number): void {
    for (const l of this.listeners) l.dropped(count);
  }
}
