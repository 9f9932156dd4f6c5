// The local half of every Bus adapter: topic → handlers, and delivery that survives a throwing
// handler. MemoryBus and RedisBus both use it so they deliver with the same semantics.
import type { BusTopic } from '../ports.js';

export type BusHandler = (message: unknown) => void;

export class Fanout {
  private readonly handlers = new Map<BusTopic, Set<BusHandler>>();

  constructor(private readonly onHandlerError: (err: Error, topic: BusTopic) => void) {}

  /**
   * Registers `handler`; the same function added twice counts twice. `onEmpty` runs when the
   * last handler of the topic is removed (RedisBus unsubscribes the channel then).
   */
  add(topic: BusTopic, handler: BusHandler, onEmpty?: () => void): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    const entry: BusHandler = (m) => handler(m);
    set.add(entry);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const current = this.handlers.get(topic);
      if (current === undefined) return;
      current.delete(entry);
      if (current.size === 0) {
        this.handlers.delete(topic);
        onEmpty?.();
      }
    };
  }

  count(topic: BusTopic): number {
    return this.handlers.get(topic)?.size ?? 0;
  }

  topics(): BusTopic[] {
    return [...this.handlers.keys()];
  }

  /** Calls each handler of a snapshot (so (un)subscribing during delivery is safe); one throwing does not stop the rest. */
  emit(topic: BusTopic, message: unknown): void {
    const set = this.handlers.get(topic);
    if (set === undefined) return;
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (err) {
        this.onHandlerError(err instanceof Error ? err : new Error(String(err)), topic);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
