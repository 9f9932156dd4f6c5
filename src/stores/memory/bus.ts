// In-process pub/sub: what one process publishes reaches only that process's subscribers.
//
// Messages go through one JSON round trip per publish so subscribers see exactly what they would
// get from the Redis bus (plain JSON data, not the publisher's live object), and adapters cannot
// drift: code that works on one works on the other.
import type { Bus, BusTopic } from '../ports.js';
import { Fanout, type BusHandler } from './fanout.js';

export interface MemoryBusOptions {
  /** Called when a handler throws; the other handlers still run. */
  onError?: (err: Error, topic: BusTopic) => void;
}

export class MemoryBus implements Bus {
  private readonly fanout: Fanout;

  constructor(opts: MemoryBusOptions = {}) {
    this.fanout = new Fanout(opts.onError ?? (() => {}));
  }

  /**
   * Delivers synchronously to every current subscriber, then resolves. Rejects (delivering to
   * nobody) when the message cannot be serialised as JSON, as the Redis bus would.
   */
  async publish(topic: BusTopic, message: unknown): Promise<void> {
    if (this.fanout.count(topic) === 0) return;
    const wire = JSON.stringify(message);
    if (wire === undefined) throw new TypeError(`bus message for "${topic}" is not JSON-serialisable`);
    this.fanout.emit(topic, JSON.parse(wire));
  }

  subscribe(topic: BusTopic, handler: BusHandler): () => void {
    return this.fanout.add(topic, handler);
  }

  close(): void {
    this.fanout.clear();
  }
}
