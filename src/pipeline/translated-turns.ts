// The turns of Responses conversations that a provider without state served (a model reached by
// translation to chat completions or Anthropic Messages). OpenAI keeps a response's conversation and
// continues it from `previous_response_id`; a chat or Messages provider keeps nothing, so ibex keeps
// each translated turn's items (its input, then the reply's output) and sends a continuation with the
// earlier turns in front of its input. Each turn names the one it continued, so a conversation of N
// turns is held once, not N times.
//
// Held in memory, bounded by size; each turn is also on its checkpoint (agents in `full` content
// mode), so a process that does not hold a turn (another replica, a restart, evicted) reads it from
// the session store, then holds it. A continuation whose turns are in neither (another content mode,
// `store: false`, pruned, or a checkpoint not written yet: the write-behind's delay) is refused with
// the 400 that names previous_response_id.
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { StoredTranslatedTurn } from '../stores/ports.js';

export interface TranslatedTurnStore {
  findTranslatedTurn(responseId: string): Promise<StoredTranslatedTurn | null>;
}

/** What the turns of all conversations may hold at once (JSON text of their items, roughly). */
export const TRANSLATED_TURNS_MAX_BYTES = 64 * 1024 * 1024;
/** A chain longer than this is not followed (a guard; no client sends thousands of turns by id). */
const MAX_TURNS = 10_000;

interface Turn {
  /** The agent whose conversation it is: no other agent's request continues it */
  agent: string;
  previous: string | null;
  items: unknown[];
  /** What the turn weighs against the bound: the caller's estimate (its request and reply sizes) */
  bytes: number;
}

export class TranslatedTurns {
  private readonly turns: LRUCache<string, Turn>;

  constructor(
    maxBytes = TRANSLATED_TURNS_MAX_BYTES,
    /** Where a turn this process does not hold is looked up; absent: memory only */
    private readonly store?: TranslatedTurnStore,
  ) {
    // A turn larger than the whole bound is not kept: its continuation gets the 400.
    this.turns = new LRUCache<string, Turn>({ maxSize: maxBytes, sizeCalculation: (t) => Math.max(1, t.bytes) });
  }

  /** What the kept turns weigh in all (against the bound) */
  get bytes(): number {
    return this.turns.calculatedSize;
  }

  /**
   * Keeps the turn that `responseId` answered: it continued `previous` (null: it began the
   * conversation). `bytes`: its weight, e.g. the request body's size plus the reply's (measuring the
   * items again would cost a serialisation of every translated turn, most of which nobody continues).
   */
  record(responseId: string, previous: string | null, items: unknown[], bytes: number, agent: string): void {
    this.turns.set(responseId, { agent, previous, items, bytes });
  }

  /**
   * Every item of `agent`'s conversation up to and including `responseId`'s turn, oldest first;
   * undefined when a turn of it is not known here, or is another agent's.
   */
  history(responseId: string, agent: string): unknown[] | undefined | Promise<unknown[] | undefined> {
    const chain: unknown[][] = [];
    for (let id: string | null = responseId; id !== null; ) {
      const turn = this.turns.get(id);
      if (!turn) return this.store ? this.historyFromStore(this.store, id, agent, chain) : undefined;
      if (turn.agent !== agent || chain.length >= MAX_TURNS) return undefined;
      chain.push(turn.items);
      id = turn.previous;
    }
    return chain.reverse().flat();
  }

  /** history() from `id` on, reading each turn memory does not hold from the store (and keeping it). */
  private async historyFromStore(store: TranslatedTurnStore, from: string, agent: string, chain: unknown[][]): Promise<unknown[] | undefined> {
    for (let id: string | null = from; id !== null; ) {
      let turn = this.turns.get(id);
      if (!turn) {
        const stored: StoredTranslatedTurn | null = await store.findTranslatedTurn(id).catch((err: unknown) => {
          throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
            message: 'The session store did not answer, so the earlier turns of this previous_response_id cannot be read; retry shortly.',
            param: 'previous_response_id',
            cause: err,
          });
        });
        if (!stored) return undefined;
        turn = { agent: stored.agent, previous: stored.previous, items: stored.items, bytes: stored.bytes };
        this.turns.set(id, turn);
      }
      if (turn.agent !== agent || chain.length >= MAX_TURNS) return undefined;
      chain.push(turn.items);
      id = turn.previous;
    }
    return chain.reverse().flat();
  }
}
