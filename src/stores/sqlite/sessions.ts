import type { AppendResult, Checkpoint, CheckpointInput, RefusedCheckpoint, Session, SessionPageFilter, SessionStore, StoredResponseLink, StoredTranslatedTurn } from '../ports.js';
import { checkpointsBySession, listLimit } from '../relational.js';
import {
  CHECKPOINT_COLS,
  CHECKPOINT_PLACEHOLDERS,
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
import { sqliteDecode, sqliteEncode, type SqliteDb } from './db.js';
import { messageBodies, sqliteRefs, storeMessages } from './ledger.js';
import { SessionMessagesMemo } from './session-messages-memo.js';
import { checkpointMessageTexts } from '../../ledger/message-body.js';
import { refsOf } from '../sql/sessions.js';
import { exportSqliteCheckpoints } from './export.js';
import { pruneSqlite } from './retention.js';
import type { ExportFilter, PruneCounts, PruneOptions } from '../ports.js';

type CheckpointRow = CheckpointRowOf<string, number>;

/** SQLite binds the reply as is: TEXT holds NUL. */
const encode = { ...sqliteEncode, reply: (s: string | null) => s, refs: sqliteRefs };

// The append path runs for every request: its SQL is built once here, so the statement cache finds
// each by the same string and nothing is assembled per row.
const CHECKPOINT_EXISTS = 'SELECT 1 FROM checkpoints WHERE request_id = ? AND created_at = ?';
// One statement creates the session or counts the turn; RETURNING gives the new turn number. A new
// session's row is written once, so its updated_at indexes are not rewritten. The WHERE keeps a
// session one agent's: for another agent's checkpoint nothing is updated and no row is returned.
// directive_version: the first checkpoint's, kept after (a session keeps the version it started with).
const UPSERT_SESSION = `INSERT INTO sessions (${SESSION_COLS}, directive_version, cost_usd) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 'active', ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    turns = turns + 1,
    directive_version = COALESCE(sessions.directive_version, excluded.directive_version),
    updated_at = MAX(updated_at, excluded.updated_at),
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    total_tokens = total_tokens + excluded.total_tokens,
    cost_usd = CASE WHEN excluded.cost_usd IS NULL THEN sessions.cost_usd ELSE COALESCE(sessions.cost_usd, 0) + excluded.cost_usd END
  WHERE sessions.agent = excluded.agent
  RETURNING turns`;
const SESSION_OWNER = 'SELECT agent FROM sessions WHERE id = ?';
const RESPONSE_LINK = responseLinkSql('?');
const TRANSLATED_TURN = translatedTurnSql('?');
const INSERT_CHECKPOINT = `INSERT INTO checkpoints (${CHECKPOINT_COLS}) VALUES (${CHECKPOINT_PLACEHOLDERS})`;
const CLAIM_SESSION = `INSERT INTO sessions (${SESSION_COLS}) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 'active')
  ON CONFLICT (id) DO NOTHING`;

export class SqliteSessionStore implements SessionStore {
  private readonly appendTx;
  private readonly claimTx;
  private readonly memo = new SessionMessagesMemo();

  constructor(private readonly db: SqliteDb) {
    this.appendTx = db.writer((batch: CheckpointInput[]): AppendResult => {
      this.memo.begin(db);
      const refused: RefusedCheckpoint[] = [];
      for (const [sessionId, checkpoints] of checkpointsBySession(batch)) {
        for (const c of checkpoints) {
          // Idempotent per request identity: a replayed batch skips what an earlier attempt stored.
          if (db.get(CHECKPOINT_EXISTS, c.requestId, c.createdAt)) continue;
          const counted = db.get<{ turns: number }>(
            UPSERT_SESSION,
            sessionId,
            c.agent,
            c.patId,
            c.createdAt,
            c.createdAt,
            c.usage?.promptTokens ?? 0,
            c.usage?.completionTokens ?? 0,
            c.usage?.totalTokens ?? 0,
            c.directiveVersion ?? null,
            c.costUsd ?? null,
          );
          if (!counted) {
            const owner = db.get<{ agent: string }>(SESSION_OWNER, sessionId)!.agent;
            refused.push({ sessionId, requestId: c.requestId, agent: c.agent, owner });
            continue;
          }
          const refs = storeMessages(db, sessionId, checkpointMessageTexts(c), c.createdAt, { of: this.memo, turn: counted.turns });
          db.run(INSERT_CHECKPOINT, ...checkpointParams(sessionId, counted.turns, c, encode, refs));
        }
      }
      return { refused };
    });
    // Insert-if-absent and the read of the owner under one write lock: another process's claim
    // lands wholly before or after.
    this.claimTx = db.writer((sessionId: string, agent: string, patId: string, at: number): string => {
      db.run(CLAIM_SESSION, sessionId, agent, patId, at, at);
      return db.get<{ agent: string }>(SESSION_OWNER, sessionId)!.agent;
    });
  }

  async appendCheckpoints(batch: CheckpointInput[]): Promise<AppendResult> {
    if (!batch.length) return { refused: [] };
    try {
      const result = this.appendTx(batch);
      this.memo.commit();
      return result;
    } catch (err) {
      this.memo.discard();
      throw err;
    }
  }

  async claimSession(sessionId: string, agent: string, patId: string, at: number): Promise<string> {
    return this.claimTx(sessionId, agent, patId, at);
  }

  async getSession(id: string): Promise<Session | null> {
    const row = this.db.get<SessionRow>(`SELECT ${SESSION_READ_COLS} FROM sessions WHERE id = ?`, id);
    return row ? toSession(row) : null;
  }

  /** Most recently updated first; `limit` defaults to 50. */
  async listSessions(filter?: { agent?: string; limit?: number }): Promise<Session[]> {
    const limit = listLimit(filter?.limit);
    const rows = filter?.agent
      ? this.db.all<SessionRow>(
          `SELECT ${SESSION_READ_COLS} FROM sessions WHERE agent = ? ORDER BY updated_at DESC, id DESC LIMIT ?`,
          filter.agent,
          limit,
        )
      : this.db.all<SessionRow>(`SELECT ${SESSION_READ_COLS} FROM sessions ORDER BY updated_at DESC, id DESC LIMIT ?`, limit);
    return rows.map(toSession);
  }

  async pageSessions(filter?: SessionPageFilter): Promise<Session[]> {
    const params: unknown[] = [];
    const sql = sessionPageSql(filter, listLimit(filter?.limit), (v) => (params.push(v), '?'));
    return this.db.all<SessionRow>(sql, ...params).map(toSession);
  }

  /**
   * In conversation order. Position is computed at read time from the request start time (stored write
   * order breaks ties): replicas flush their write-behind queues independently, so arrival order at the
   * store is not the conversation's order, but the start times are.
   */
  async checkpoints(sessionId: string): Promise<Checkpoint[]> {
    const rows = this.db.all<CheckpointRow>(`SELECT ${CHECKPOINT_READ_COLS} FROM checkpoints WHERE session_id = ? ORDER BY seq`, sessionId);
    const bodies = messageBodies(this.db, rows.flatMap((r) => refsOf(r) ?? []));
    return rows.map((r) => toCheckpoint(r, sqliteDecode, bodies));
  }

  async findResponseLink(id: string): Promise<StoredResponseLink | null> {
    const row = this.db.get<ResponseLinkRow>(RESPONSE_LINK[0], id) ?? this.db.get<ResponseLinkRow>(RESPONSE_LINK[1], id);
    return row ? toResponseLink(row) : null;
  }

  async findTranslatedTurn(responseId: string): Promise<StoredTranslatedTurn | null> {
    const row = this.db.get<TranslatedTurnRow>(TRANSLATED_TURN, responseId);
    return row ? toTranslatedTurn(row, messageBodies(this.db, refsOf(row) ?? [])) : null;
  }

  exportCheckpoints(filter: ExportFilter = {}): AsyncIterable<Checkpoint> {
    return exportSqliteCheckpoints(this.db, filter);
  }

  async prune(opts: PruneOptions): Promise<PruneCounts> {
    // Appends run between the prune's batches: none may trust what it remembers of a session meanwhile.
    return this.memo.suspendDuring(() => pruneSqlite(this.db, opts));
  }
}
