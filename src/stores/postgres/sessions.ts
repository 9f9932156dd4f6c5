import type { AppendResult, Checkpoint, CheckpointInput, RefusedCheckpoint, Session, SessionPageFilter, SessionStore, StoredResponseLink, StoredTranslatedTurn } from '../ports.js';
import { checkpointsBySession, listLimit } from '../relational.js';
import {
  CHECKPOINT_COLS,
  CHECKPOINT_READ_COLS,
  checkpointParams,
  responseLinkSql,
  toResponseLink,
  toTranslatedTurn,
  type TranslatedTurnRow,
  translatedTurnSql,
  type ResponseLinkRow,
  SESSION_COLS,
  SESSION_READ_COLS,
  sessionPageSql,
  toCheckpoint,
  toSession,
  type CheckpointRow as CheckpointRowOf,
  type SessionRow,
} from '../sql/sessions.js';
import { pgDecode, pgEncode, stripNul, type PgDb, type Queryable } from './db.js';
import { messageBodies, storeMessages } from './ledger.js';
import { checkpointMessageTexts } from '../../ledger/message-body.js';
import { refsOf } from '../sql/sessions.js';
import { exportPgCheckpoints } from './export.js';
import { prunePg } from './retention.js';
import type { ExportFilter, PruneCounts, PruneOptions } from '../ports.js';

type CheckpointRow = CheckpointRowOf<unknown, boolean>;

const encode = { ...pgEncode, reply: stripNul, refs: (ids: number[]) => ids };

// Claims a session in one round trip: the insert wins for a new id, else the existing row answers.
// Both halves read the statement's snapshot, so when another transaction inserted the same id after
// that snapshot was taken (a concurrent claim), the insert waits for it, does nothing, and the
// SELECT cannot see its row yet: no row comes back, and the caller asks again (a new snapshot).
const CLAIM_SESSION = `WITH claimed AS (
    INSERT INTO sessions (${SESSION_COLS}) VALUES ($1, $2, $3, $4, $4, 0, 0, 0, 0, 'active')
    ON CONFLICT (id) DO NOTHING
    RETURNING agent
  )
  SELECT agent FROM claimed UNION ALL SELECT agent FROM sessions WHERE id = $1 LIMIT 1`;
const INSERT_CHECKPOINT = `INSERT INTO checkpoints (${CHECKPOINT_COLS})
  VALUES (${CHECKPOINT_COLS.split(', ')
    .map((col, i) => `$${i + 1}${col === 'messages' ? '::json' : col === 'message_refs' ? '::bigint[]' : ''}`)
    .join(', ')})
  ON CONFLICT (request_id, created_at) DO NOTHING`;

const RESPONSE_LINK = responseLinkSql('$1');
const TRANSLATED_TURN = translatedTurnSql('$1');

/** A lost race answers on the next try; more tries than this mean something else is wrong. */
const CLAIM_TRIES = 3;

/** Writes one session's checkpoints (those of its owner agent); the caller holds the transaction. */
async function appendToSession(
  q: Queryable,
  sessionId: string,
  checkpoints: CheckpointInput[],
  refused: RefusedCheckpoint[],
): Promise<void> {
  const first = checkpoints[0]!;
  await q.query(
    `INSERT INTO sessions (${SESSION_COLS}) VALUES ($1, $2, $3, $4, $4, 0, 0, 0, 0, 'active')
     ON CONFLICT (id) DO NOTHING`,
    [sessionId, first.agent, first.patId, first.createdAt],
  );
  // The row lock makes seq assignment safe when two replicas flush checkpoints of one session.
  const { rows } = await q.query<{ turns: number; agent: string }>('SELECT turns, agent FROM sessions WHERE id = $1 FOR UPDATE', [
    sessionId,
  ]);
  let turns = rows[0]!.turns;
  const owner = rows[0]!.agent;
  let prompt = 0;
  let completion = 0;
  let total = 0;
  let cost: number | null = null;
  let latest = 0;
  let directiveVersion: number | null = null; // the first written one's: a session keeps its version (issue 15)
  for (const c of checkpoints) {
    // A session is one agent's: another agent's turn is never mixed into it.
    if (c.agent !== owner) {
      refused.push({ sessionId, requestId: c.requestId, agent: c.agent, owner });
      continue;
    }
    // Idempotent per (requestId, createdAt): a replayed batch skips what an earlier attempt stored.
    const refs = await storeMessages(q, sessionId, checkpointMessageTexts(c), c.createdAt);
    const inserted = await q.query(INSERT_CHECKPOINT, checkpointParams(sessionId, turns + 1, c, encode, refs));
    if (inserted.rowCount === 0) continue;
    turns += 1;
    prompt += c.usage?.promptTokens ?? 0;
    completion += c.usage?.completionTokens ?? 0;
    total += c.usage?.totalTokens ?? 0;
    if (c.costUsd !== null && c.costUsd !== undefined) cost = (cost ?? 0) + c.costUsd;
    latest = Math.max(latest, c.createdAt);
    directiveVersion ??= c.directiveVersion ?? null;
  }
  if (latest === 0) return; // every checkpoint was a replay
  await q.query(
    `UPDATE sessions SET turns = $2, updated_at = GREATEST(updated_at, $3),
       prompt_tokens = prompt_tokens + $4, completion_tokens = completion_tokens + $5, total_tokens = total_tokens + $6,
       directive_version = COALESCE(directive_version, $7),
       cost_usd = CASE WHEN $8::double precision IS NULL THEN cost_usd ELSE COALESCE(cost_usd, 0) + $8::double precision END
     WHERE id = $1`,
    [sessionId, turns, latest, prompt, completion, total, directiveVersion, cost],
  );
}

export class PgSessionStore implements SessionStore {
  constructor(private readonly db: PgDb) {}

  async appendCheckpoints(batch: CheckpointInput[]): Promise<AppendResult> {
    if (!batch.length) return { refused: [] };
    return this.db.tx(async (q) => {
      const refused: RefusedCheckpoint[] = [];
      // Sessions in sorted order: two replicas' batches lock rows in the same order, no deadlock.
      for (const [sessionId, checkpoints] of checkpointsBySession(batch)) await appendToSession(q, sessionId, checkpoints, refused);
      return { refused };
    });
  }

  async claimSession(sessionId: string, agent: string, patId: string, at: number): Promise<string> {
    for (let i = 0; i < CLAIM_TRIES; i++) {
      const rows = await this.db.query<{ agent: string }>(CLAIM_SESSION, [sessionId, agent, patId, at]);
      if (rows[0]) return rows[0].agent;
    }
    throw new Error(`session ${sessionId}: no owner after ${CLAIM_TRIES} claims`);
  }

  async getSession(id: string): Promise<Session | null> {
    const rows = await this.db.query<SessionRow>(`SELECT ${SESSION_READ_COLS} FROM sessions WHERE id = $1`, [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  /** Most recently updated first; `limit` defaults to 50. */
  async listSessions(filter?: { agent?: string; limit?: number }): Promise<Session[]> {
    const limit = listLimit(filter?.limit);
    const rows = filter?.agent
      ? await this.db.query<SessionRow>(
          `SELECT ${SESSION_READ_COLS} FROM sessions WHERE agent = $1 ORDER BY updated_at DESC, id DESC LIMIT $2`,
          [filter.agent, limit],
        )
      : await this.db.query<SessionRow>(`SELECT ${SESSION_READ_COLS} FROM sessions ORDER BY updated_at DESC, id DESC LIMIT $1`, [
          limit,
        ]);
    return rows.map(toSession);
  }

  async pageSessions(filter?: SessionPageFilter): Promise<Session[]> {
    const params: unknown[] = [];
    const sql = sessionPageSql(filter, listLimit(filter?.limit), (v) => `$${params.push(v)}`);
    return (await this.db.query<SessionRow>(sql, params)).map(toSession);
  }

  /**
   * In conversation order. Position is computed at read time from the request start time (stored write
   * order breaks ties): replicas flush their write-behind queues independently, so arrival order at the
   * store is not the conversation's order, but the start times are.
   */
  async checkpoints(sessionId: string): Promise<Checkpoint[]> {
    const rows = await this.db.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_READ_COLS} FROM checkpoints WHERE session_id = $1 ORDER BY seq`,
      [sessionId],
    );
    const bodies = await messageBodies(this.db.pool, rows.flatMap((r) => refsOf(r) ?? []));
    return rows.map((r) => toCheckpoint(r, pgDecode, bodies));
  }

  async findResponseLink(id: string): Promise<StoredResponseLink | null> {
    for (const sql of RESPONSE_LINK) {
      const rows = await this.db.query<ResponseLinkRow>(sql, [id]);
      if (rows[0]) return toResponseLink(rows[0]);
    }
    return null;
  }

  async findTranslatedTurn(responseId: string): Promise<StoredTranslatedTurn | null> {
    const row = (await this.db.query<TranslatedTurnRow>(TRANSLATED_TURN, [responseId]))[0];
    return row ? toTranslatedTurn(row, await messageBodies(this.db.pool, refsOf(row) ?? [])) : null;
  }

  exportCheckpoints(filter: ExportFilter = {}): AsyncIterable<Checkpoint> {
    return exportPgCheckpoints(this.db, filter);
  }

  prune(opts: PruneOptions): Promise<PruneCounts> {
    return prunePg(this.db, opts);
  }
}
