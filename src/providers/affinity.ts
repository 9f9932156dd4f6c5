// Stateful continuations (issue 13): a Responses request with `previous_response_id` (or a
// `conversation`) must reach the provider and the key that created the state, since it lives in
// that upstream account; another provider, or another key of the same provider, answers 404. This
// maps a response or conversation id → the provider (by its ibex.yaml name) and the key index that
// served it. In-process and bounded, like sessions/response-links.ts: a continuation that reaches
// another replica, or comes after this process forgot the id, is routed by the model's chain.
import { LRUCache } from 'lru-cache';
import type { ResponseStateAt } from '../stores/ports.js';

/** The provider and key holding a reply's state (the same shape is stored on its checkpoint). */
export type Affinity = ResponseStateAt;

export class ResponseAffinity {
  private readonly links = new LRUCache<string, Affinity>({ max: 50_000 });

  get(id: string): Affinity | undefined {
    return this.links.get(id);
  }

  set(id: string, affinity: Affinity): void {
    this.links.set(id, affinity);
  }
}
