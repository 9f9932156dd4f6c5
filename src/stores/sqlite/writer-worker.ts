// The worker side of SqliteWriter: its own better-sqlite3 connection to the same file (WAL, so the
// gateway's reads and the CLI carry on), running the write-behind batches off the gateway's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteDb } from './db.js';
import { SqliteSessionStore } from './sessions.js';
import { SqliteTraceSink } from './traces.js';
import type { CheckpointInput, PruneOptions, Trace } from '../ports.js';
import { isSqliteDataError } from './writer.js';

/** One session claim: [sessionId, agent, patId, at]. */
export type ClaimTuple = [string, string, string, number];
/** A failure says whether SQLite refused the data (`data`) or could not write now; `code` is SQLite's. */
export interface WriterFailure {
  message: string;
  data: boolean;
  code?: string;
}
/** Per claim of a batch: the owner, or why that claim failed. */
export type ClaimOutcome = { owner: string } | { error: WriterFailure };

export type WriterRequest =
  | { id: number; op: 'checkpoints'; batch: CheckpointInput[] }
  | { id: number; op: 'traces'; batch: Trace[] }
  | { id: number; op: 'claims'; claims: ClaimTuple[] }
  | { id: number; op: 'prune'; opts: PruneOptions };
export type WriterReply = { id: number; ok: true; value?: unknown } | ({ id: number; ok: false } & WriterFailure);

function failure(err: unknown): WriterFailure {
  const e = err as Error;
  const code = (e as { code?: unknown }).code;
  return { message: e?.message ?? String(err), data: isSqliteDataError(err), code: typeof code === 'string' ? code : undefined };
}

const port = parentPort!;
const db = new SqliteDb((workerData as { path: string }).path);
const sessions = new SqliteSessionStore(db);
const traces = new SqliteTraceSink(db);

// Every claim of a batch in one transaction: each claim is a savepoint inside it (better-sqlite3 nests
// transactions), so one claim's failure does not undo the others, and the batch pays one commit — a
// commit per claim was 40 % of this thread's CPU at one new session per request.
const claimAll = db.writer((claims: ClaimTuple[], out: Promise<string>[]) => {
  for (const [sessionId, agent, patId, at] of claims) out.push(sessions.claimSession(sessionId, agent, patId, at));
});

async function claims(batch: ClaimTuple[]): Promise<ClaimOutcome[]> {
  const results: Promise<string>[] = [];
  try {
    claimAll(batch, results);
  } catch (err) {
    // The commit itself failed: none of the claims is stored, whatever each one answered.
    await Promise.allSettled(results);
    throw err;
  }
  const settled = await Promise.allSettled(results);
  return settled.map((s) => (s.status === 'fulfilled' ? { owner: s.value } : { error: failure(s.reason) }));
}

port.on('message', (req: WriterRequest | { op: 'close' }) => {
  if (req.op === 'close') {
    db.close();
    process.exit(0);
  }
  const work: Promise<unknown> =
    req.op === 'checkpoints'
      ? sessions.appendCheckpoints(req.batch)
      : req.op === 'claims'
        ? claims(req.claims)
        : req.op === 'prune'
          ? sessions.prune(req.opts)
          : traces.write(req.batch);
  work.then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies WriterReply),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, ...failure(err) } satisfies WriterReply),
  );
});
port.postMessage({ ready: true });
