// SqliteWriter: embedded write-behind in a worker thread (its own connection to the WAL database).
// Runs the compiled worker from dist/ (npm test builds first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteWriter } from '../../src/stores/sqlite/writer.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';
import type { CheckpointInput } from '../../src/stores/ports.js';
import { makeTrace } from '../helpers/traces.js';
import { StoreDataError } from '../../src/stores/errors.js';

const cp = (sessionId: string, i: number): CheckpointInput => ({
  sessionId,
  agent: 'a',
  patId: 'pat_1',
  requestId: `req-${sessionId}-${i}`,
  clientRequestId: null,
  model: 'm',
  directiveVersion: null,
  messages: [{ role: 'user', content: `turn ${i}` }],
  reply: `reply ${i}`,
  finishReason: 'stop',
  usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
  costUsd: null,
  status: 'ok',
  errorCode: null,
  stream: false,
  createdAt: 1_700_000_000_000 + i,
});

describe('SqliteWriter (worker thread)', () => {
  let dir: string;
  let stores: RelationalStores;
  let writer: SqliteWriter;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-writer-'));
    stores = await openSqliteStores(join(dir, 'ibex.db'));
    await stores.migrate();
    writer = new SqliteWriter(join(dir, 'ibex.db'));
  });
  afterEach(async () => {
    await writer.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checkpoints and traces written by the worker are read on the main connection; replays are skipped', async () => {
    const batch = [cp('s1', 1), cp('s1', 2), cp('s2', 1)];
    await writer.appendCheckpoints(batch);
    await writer.appendCheckpoints(batch); // a replay after a lost ack
    expect((await stores.sessions.checkpoints('s1')).map((c) => c.reply)).toEqual(['reply 1', 'reply 2']);
    expect(await stores.sessions.getSession('s2')).toMatchObject({ turns: 1, totalTokens: 3 });
    const t = makeTrace({ agent: 'writer-agent' });
    await writer.write([t]);
    expect((await stores.traces.list({ agent: 'writer-agent' })).map((x) => x.requestId)).toEqual([t.requestId]);
  });

  it('a write the store refuses rejects (so the queue retries and spools), and the writer keeps working', async () => {
    // No session id: SQLite's NOT NULL refuses the row (a shape the type rules out, hence the cast).
    const bad = { ...cp('s3', 1), sessionId: null } as unknown as CheckpointInput;
    await expect(writer.appendCheckpoints([bad])).rejects.toThrow();
    await writer.appendCheckpoints([cp('s3', 2)]);
    expect(await stores.sessions.checkpoints('s3')).toHaveLength(1);
  });

  it('claims of one event-loop turn go as one message; each gets its owner, a refused one fails alone', async () => {
    expect(await writer.claimSession('taken', 'a', 'pat_1', 1)).toBe('a'); // also starts the worker
    const worker = (writer as unknown as { worker: { postMessage(m: unknown): void } }).worker;
    const sent: unknown[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m: unknown) => {
      sent.push(m);
      post(m);
    };
    const results = await Promise.allSettled([
      writer.claimSession('c1', 'a', 'pat_1', 2),
      writer.claimSession('c2', 'b', 'pat_2', 3),
      writer.claimSession('taken', 'b', 'pat_2', 4), // someone else's: answers the owner
      writer.claimSession('c3', null as unknown as string, 'pat_1', 5), // NOT NULL agent: refused
    ]);
    expect(sent).toHaveLength(1);
    expect(results.slice(0, 3)).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'fulfilled', value: 'b' },
      { status: 'fulfilled', value: 'a' },
    ]);
    expect(results[3]!.status).toBe('rejected');
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(StoreDataError);
    expect(await stores.sessions.getSession('c1')).toMatchObject({ agent: 'a', turns: 0 });
    expect(await stores.sessions.getSession('c2')).toMatchObject({ agent: 'b', patId: 'pat_2' });
    expect(await stores.sessions.getSession('c3')).toBeNull();
    // a later turn is a new message
    expect(await writer.claimSession('c4', 'a', 'pat_1', 6)).toBe('a');
    expect(sent).toHaveLength(2);
  });

  it('refuses writes after close', async () => {
    await writer.close();
    await expect(writer.write([makeTrace()])).rejects.toThrow(/closed/);
  });
});
