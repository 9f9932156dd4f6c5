// The SQLite checkpoint writer remembers what it stored of each session (session-messages-memo.ts), so a
// turn that resends the conversation costs statements only for its new messages. What it remembers
// must never outlive the rows it names: a prune (here or in another process) and a rolled-back batch.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteDb } from '../../src/stores/sqlite/db.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { CheckpointInput } from '../../src/stores/ports.js';
import type { RelationalStores } from '../../src/stores/relational.js';

const SESSION = 'ses_memo';
type Msg = { role: string; content: string };

/** The conversation as of turn `t` (1-based): system, then user / assistant alternating, ending with a user message. */
function history(t: number, edit?: { at: number; content: string }): Msg[] {
  const msgs: Msg[] = [{ role: 'system', content: 'directive' }];
  for (let i = 1; i <= t; i++) {
    if (i > 1) msgs.push({ role: 'assistant', content: `answer ${i - 1}` });
    msgs.push({ role: 'user', content: `question ${i}` });
  }
  if (edit) msgs[edit.at] = { role: msgs[edit.at]!.role, content: edit.content };
  return msgs;
}

let seq = 0;
function turn(messages: Msg[], over: { sessionId?: string; status?: CheckpointInput['status']; createdAt?: number } = {}): CheckpointInput {
  seq++;
  return {
    sessionId: SESSION, agent: 'memo', patId: 'pat_memo', requestId: `req-${seq}`, clientRequestId: null, model: 'm', directiveVersion: 1,
    messages, reply: `answer ${seq}`, finishReason: 'stop', usage: null, costUsd: null, status: 'ok', errorCode: null, stream: false,
    createdAt: 1_000_000 + seq, ...over,
  };
}

/** Another session's turn with messages of its own (they take the lowest free message ids). */
const otherTraffic = () =>
  turn([{ role: 'system', content: 'another directive' }, ...Array.from({ length: 8 }, (_, i) => ({ role: 'user', content: `other ${i}` }))], { sessionId: 'ses_elsewhere', createdAt: 9_000_000 + seq });

/** How many times the store looked a message up by hash while `work` ran. */
async function lookups(work: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(SqliteDb.prototype, 'get');
  try {
    await work();
    return spy.mock.calls.filter(([sql]) => String(sql).startsWith('SELECT id FROM messages WHERE hash')).length;
  } finally {
    spy.mockRestore();
  }
}

describe('SQLite ledger: what the writer remembers of a session', () => {
  let dir: string;
  let path: string;
  let stores: RelationalStores;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-memo-'));
    path = join(dir, 'ibex.db');
    stores = await openSqliteStores(path);
    await stores.migrate();
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () => (await stores.sessions.checkpoints(SESSION)).map((c) => c.messages);
  const uses = () => {
    const raw = new Database(path, { readonly: true });
    try {
      return (raw.prepare('SELECT COUNT(*) AS n FROM message_sessions WHERE session_id = ?').get(SESSION) as { n: number }).n;
    } finally {
      raw.close();
    }
  };

  it('from the third turn on, only the new messages are looked up; every turn reads back as sent', async () => {
    const counts: number[] = [];
    for (let t = 1; t <= 5; t++) counts.push(await lookups(() => stores.sessions.appendCheckpoints([turn(history(t))])));
    // Turns 1 and 2 look up all their messages (the first turn of a session is not remembered)...
    expect(counts.slice(0, 2)).toEqual([2, 4]);
    // ...then each turn its two new ones: the answer it follows and its question.
    expect(counts.slice(2)).toEqual([2, 2, 2]);
    expect(await stored()).toEqual([1, 2, 3, 4, 5].map((t) => history(t)));
    expect(uses()).toBe(history(5).length);
  });

  it('an edited history is looked up from the first message that differs', async () => {
    for (let t = 1; t <= 3; t++) await stores.sessions.appendCheckpoints([turn(history(t))]);
    // Same length as the text it replaces: compared as text, not by size
    const edited = history(4, { at: 3, content: 'questioN 2' });
    // system, question 1, answer 1 are shared; from index 3 on (5 of the 8 messages) they are looked up
    expect(await lookups(() => stores.sessions.appendCheckpoints([turn(edited)]))).toBe(5);
    expect((await stored())[3]).toEqual(edited);
    expect(uses()).toBe(history(4).length + 1);
  });

  it('several turns of one session in one batch', async () => {
    await stores.sessions.appendCheckpoints([turn(history(1)), turn(history(2)), turn(history(3)), turn(history(4))]);
    expect(await stored()).toEqual([1, 2, 3, 4].map((t) => history(t)));
    expect(uses()).toBe(history(4).length);
  });

  it('a prune by another process: the next turn stores its messages again instead of naming deleted ones', async () => {
    for (let t = 1; t <= 3; t++) await stores.sessions.appendCheckpoints([turn(history(t))]);
    const other = await openSqliteStores(path);
    try {
      const counts = await other.sessions.prune({ sessionsBefore: Number.MAX_SAFE_INTEGER, pauseMs: 0 });
      expect(counts.messages).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
    // Other traffic takes the freed message ids; then the session starts again with the client's next
    // turns: the second of them (not a first turn) would find what was remembered before the prune,
    // whose ids now name other messages.
    await stores.sessions.appendCheckpoints([otherTraffic()]);
    expect(await lookups(() => stores.sessions.appendCheckpoints([turn(history(4))]))).toBe(history(4).length);
    await stores.sessions.appendCheckpoints([turn(history(5))]);
    expect(await stored()).toEqual([history(4), history(5)]);
    expect(uses()).toBe(history(5).length);
  });

  it('a prune on the same connection: the same', async () => {
    for (let t = 1; t <= 3; t++) await stores.sessions.appendCheckpoints([turn(history(t))]);
    await stores.sessions.prune({ sessionsBefore: Number.MAX_SAFE_INTEGER, pauseMs: 0 });
    await stores.sessions.appendCheckpoints([otherTraffic()]);
    await stores.sessions.appendCheckpoints([turn(history(4))]);
    await stores.sessions.appendCheckpoints([turn(history(5))]);
    expect(await stored()).toEqual([history(4), history(5)]);
    expect(uses()).toBe(history(5).length);
  });

  it('a batch that rolled back is not remembered: its retry records the session\'s use of its messages', async () => {
    for (let t = 1; t <= 2; t++) await stores.sessions.appendCheckpoints([turn(history(t))]);
    const third = turn(history(3));
    // A NOT NULL column refused after the third turn's messages were stored: the whole batch rolls back
    await expect(stores.sessions.appendCheckpoints([third, turn(history(3), { sessionId: 'ses_other', status: null as unknown as 'ok' })])).rejects.toThrow();
    expect(uses()).toBe(history(2).length);
    await stores.sessions.appendCheckpoints([third]);
    await stores.sessions.appendCheckpoints([turn(history(4))]);
    expect(await stored()).toEqual([1, 2, 3, 4].map((t) => history(t)));
    expect(uses()).toBe(history(4).length);
  });
});
