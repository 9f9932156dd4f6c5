// What the checkpoint writer last stored for each session: its messages' texts and ids, in order.
// Every turn resends the whole conversation, so without this each checkpoint looked up every message
// of it and re-recorded the session's use of each: two statements per message per turn, half the
// writer's CPU at 50 messages (bench/BENCHMARKS.md, stop 29). With it, the prefix a turn shares with
// the session's previous one is known: only the turn's new messages cost statements, and only they
// are hashed (the shared prefix is compared as text, which is a memory compare: hashing it, or even
// looking its texts up in the text→hash cache, cost the writer more than the statements saved).
//
// A session's first turn is not remembered: most sessions have one (each request of a client that does
// not continue sessions starts one), and remembering those cost more than it saved; from the second turn
// on, the next turn finds it.
//
// Only what committed is remembered (a rolled-back batch is forgotten), and only while no message can
// have gone: any commit by another connection (an `ibex prune` beside the gateway: SQLite's
// data_version says so) clears it, and a prune on this connection suspends it until it ends.
import { LRUCache } from 'lru-cache';
import type { SqliteDb } from './db.js';

/**
 * How much all remembered sessions may hold together, in characters of message text (the texts are
 * the checkpoints' own strings, kept rather than copied): 8 M, 8–16 MB. A session larger than that is
 * not remembered.
 */
const MAX_CHARS = 8_000_000;

export interface SessionMessages {
  /** The stored JSON texts of the messages */
  texts: readonly string[];
  ids: readonly number[];
}

const weight = (e: SessionMessages) => e.texts.reduce((n, t) => n + t.length, e.ids.length);

export class SessionMessagesMemo {
  private readonly committed = new LRUCache<string, SessionMessages>({ maxSize: MAX_CHARS, sizeCalculation: (e) => Math.max(1, weight(e)) });
  /** Written by the transaction in progress: visible to its later checkpoints, kept only if it commits */
  private readonly staged = new Map<string, SessionMessages>();
  private dataVersion: number | null = null;
  private suspended = 0;

  /** At the start of a write transaction (the write lock held): forgets all if another connection committed since. */
  begin(db: SqliteDb): void {
    const version = db.get<{ data_version: number }>('PRAGMA data_version')!.data_version;
    if (version !== this.dataVersion) this.committed.clear();
    this.dataVersion = version;
  }

  get(sessionId: string): SessionMessages | undefined {
    if (this.suspended) return undefined;
    return this.staged.get(sessionId) ?? this.committed.get(sessionId);
  }

  stage(sessionId: string, entry: SessionMessages): void {
    if (!this.suspended) this.staged.set(sessionId, entry);
  }

  /** The transaction committed. */
  commit(): void {
    for (const [sessionId, entry] of this.staged) this.committed.set(sessionId, entry);
    this.staged.clear();
  }

  /** The transaction rolled back. */
  discard(): void {
    this.staged.clear();
  }

  /** Around a prune on this connection: nothing is remembered until it ended, and all is forgotten then. */
  async suspendDuring<T>(work: () => Promise<T>): Promise<T> {
    this.suspended++;
    this.committed.clear();
    try {
      return await work();
    } finally {
      this.suspended--;
      this.committed.clear();
    }
  }
}
