// The worker side of SqliteWriter: its own better-sqlite3 connection to the same file (WAL, so the
// gateway's reads and the CLI carry on), running the write-behind batches off the gateway's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStores } from './index.js';
import type { CheckpointInput, PruneOptions, Trace } from '../ports.js';
import { isSqliteDataError } from './writer.js';

export type WriterRequest =
  | { id: number; op: 'checkpoints'; batch: CheckpointInput[] }
  | { id: number; op: 'traces'; batch: Trace[] }
  | { id: number; op: 'claim'; sessionId: string; agent: string; patId: string; at: number }
  | { id: number; op: 'prune'; opts: PruneOptions };
/** A failure says whether SQLite refused the data (`data`) or could not write now; `code` is SQLite's. */
export type WriterReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; message: string; data: boolean; code?: string };

const port = parentPort!;
const stores = await openSqliteStores((workerData as { path: string }).path);

port.on('message', (req: WriterRequest | { op: 'close' }) => {
  if (req.op === 'close') {
    void stores.close().then(() => process.exit(0));
    return;
  }
  const work: Promise<unknown> =
    req.op === 'checkpoints'
      ? stores.sessions.appendCheckpoints(req.batch)
      : req.op === 'claim'
        ? stores.sessions.claimSession(req.sessionId, req.agent, req.patId, req.at)
        : req.op === 'prune'
          ? stores.sessions.prune(req.opts)
          : stores.traces.write(req.batch);
  work.then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies WriterReply),
    (err: Error) => {
      const code = (err as { code?: unknown }).code;
      port.postMessage({
        id: req.id,
        ok: false,
        message: err.message,
        data: isSqliteDataError(err),
        code: typeof code === 'string' ? code : undefined,
      } satisfies WriterReply);
    },
  );
});
port.postMessage({ ready: true });
