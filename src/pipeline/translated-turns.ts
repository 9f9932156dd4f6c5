// The turns of Responses conversations that a provider without state served (a model reached by
// translation to chat completions or Anthropic Messages). OpenAI keeps a response's conversation and
// continues it from `previous_response_id`; a chat or Messages provider keeps nothing, so ibex keeps
// each translated turn's items (its input, then the reply's output) and sends a continuation with the
// earlier turns in front of its input. Each turn names the one it continued, so a conversation of N
// turns is held once, not N times.
//
// In-process and bounded by size, like the affinity and session links (providers/affinity.ts,
// sessions/response-links.ts): a continuation that reaches another replica, or comes after this
// process let an earlier turn go, is refused with the 400 that names previous_response_id.
import { LRUCache } from 'lru-cache';

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

  constructor(maxBytes = TRANSLATED_TURNS_MAX_BYTES) {
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
  history(responseId: string, agent: string): unknown[] | undefined {
    const chain: unknown[][] = [];
    for (let id: string | null = responseId; id !== null; ) {
      const turn = this.turns.get(id);
      if (!turn || turn.agent !== agent || chain.length >= MAX_TURNS) return undefined;
      chain.push(turn.items);
      id = turn.previous;
    }
    return chain.reverse().flat();
  }
}
