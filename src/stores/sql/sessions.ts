import type { Checkpoint, CheckpointInput, CheckpointStatus, ResponseStateAt, Session, SessionPageFilter, StoredResponseLink, StoredTranslatedTurn, TranslatedTurnRecord } from '../ports.js';
import { storeTextOrNull as text } from '../store-text.js';
import { attemptsOf, attemptsText, decisionsOf, decisionsText, storedCacheStatus } from './traces.js';
import type { ParamEncode, RowDecode } from './decode.js';

export interface SessionRow {
  id: string;
  agent: string;
  pat_id: string;
  created_at: number;
  updated_at: number;
  turns: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  status: string;
  cost_usd: number | null;
}

export interface CheckpointRow<Json, Bool> {
  session_id: string;
  seq: number;
  request_id: string;
  agent: string;
  pat_id: string;
  model: string | null;
  directive_version: number | null;
  messages: Json;
  reply: string | null;
  finish_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  status: CheckpointStatus;
  error_code: string | null;
  stream: Bool;
  created_at: number;
  client_request_id: string | null;
  /** SQLite: JSON text of ids; Postgres: BIGINT[] (ids as strings or numbers). NULL: a row from before 0007 */
  message_refs: string | (string | number)[] | null;
  message_count: number | null;
  protocol: string | null;
  upstream_path: string | null;
  provider: string | null;
  served_model: string | null;
  upstream_template: string | null;
  content_mode: string | null;
  replay_of: string | null;
  /** JSON text of the failed fallback attempts; NULL when the first target served */
  attempts: string | null;
  /** Prompt tokens served from the provider's prompt cache (migration 0008) */
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  /** JSON text of the policy decisions (migration 0011); NULL when no policy acted */
  policy_decisions: string | null;
  cache_status: string | null;
  /** Responses continuations (migration 0013) */
  response_id: string | null;
  continued_id: string | null;
  /** JSON text of a ResponseStateAt */
  state_at: string | null;
  /** JSON text of a TranslatedTurnRecord */
  translated_turn: string | null;
}

/** The columns a new session row is written with (its cost starts NULL: no priced turn yet). */
export const SESSION_COLS =
  'id, agent, pat_id, created_at, updated_at, turns, prompt_tokens, completion_tokens, total_tokens, status';
/** The columns a session is read with. */
export const SESSION_READ_COLS = SESSION_COLS + ', cost_usd';
export const CHECKPOINT_COLS =
  'session_id, seq, request_id, agent, pat_id, model, directive_version, messages, reply, finish_reason, ' +
  'prompt_tokens, completion_tokens, total_tokens, status, error_code, stream, created_at, client_request_id, ' +
  'message_refs, message_count, protocol, upstream_path, provider, served_model, upstream_template, content_mode, replay_of, attempts, cached_tokens, reasoning_tokens, cost_usd, policy_decisions, cache_status, ' +
  'response_id, continued_id, state_at, translated_turn';
/** `?, ?, …`: one positional placeholder per checkpoint column (SQLite). */
export const CHECKPOINT_PLACEHOLDERS = CHECKPOINT_COLS.split(', ')
  .map(() => '?')
  .join(', ');
/** The same columns, with `seq` as the position by start time (ORDER BY seq then means that position). */
export const CHECKPOINT_READ_COLS = CHECKPOINT_COLS.replace(
  'session_id, seq,',
  'session_id, ROW_NUMBER() OVER (ORDER BY created_at, seq) AS seq,',
);

export const toSession = (r: SessionRow): Session => ({
  id: r.id,
  agent: r.agent,
  patId: r.pat_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  turns: r.turns,
  promptTokens: r.prompt_tokens,
  completionTokens: r.completion_tokens,
  totalTokens: r.total_tokens,
  costUsd: r.cost_usd ?? null,
  status: r.status,
});

/** The message ids of a row, in order; null for a row written before the ledger (its JSON is in `messages`). */
export function refsOf(r: { message_refs: CheckpointRow<unknown, unknown>['message_refs'] }): number[] | null {
  const v = r.message_refs;
  if (v === null || v === undefined) return null;
  const list = typeof v === 'string' ? (JSON.parse(v) as unknown[]) : v;
  return list.map(Number);
}

/**
 * A row as a Checkpoint. `bodies` holds the JSON text of every message the row refers to (by id);
 * a row from before the ledger carries its messages itself. The ledger's fields are set only when
 * stored, so a checkpoint reads back as it was written.
 */
export const toCheckpoint = <J, B>(r: CheckpointRow<J, B>, d: RowDecode<J, B>, bodies: ReadonlyMap<number, string>): Checkpoint => ({
  ...toCheckpointCore(r, d, bodies),
  ...(r.protocol !== null && r.protocol !== undefined ? { protocol: r.protocol } : {}),
  ...(r.upstream_path ? { upstreamPath: r.upstream_path } : {}),
  ...(r.provider ? { provider: r.provider } : {}),
  ...(r.served_model ? { servedModel: r.served_model } : {}),
  ...(r.upstream_template !== null && r.upstream_template !== undefined ? { upstreamTemplate: r.upstream_template } : {}),
  ...(r.content_mode && r.content_mode !== 'full' ? { contentMode: r.content_mode as Checkpoint['contentMode'] } : {}),
  ...(r.content_mode === 'metadata' ? { messageCount: r.message_count ?? 0 } : {}),
  ...(r.replay_of ? { replayOf: r.replay_of } : {}),
  ...(r.attempts ? { attempts: attemptsOf(r.attempts) } : {}),
  ...(r.policy_decisions ? { policyDecisions: decisionsOf(r.policy_decisions) } : {}),
  ...(r.cache_status ? { cacheStatus: storedCacheStatus(r.cache_status) } : {}),
  ...(r.response_id ? { responseId: r.response_id } : {}),
  ...(r.continued_id ? { continuedId: r.continued_id } : {}),
  ...(r.state_at ? { stateAt: stateAtOf(r.state_at) } : {}),
});

function rebuild(refs: number[], bodies: ReadonlyMap<number, string>): unknown[] {
  return refs.map((id) => {
    const body = bodies.get(id);
    if (body === undefined) throw new Error(`ledger: message ${id} is missing`);
    return JSON.parse(body) as unknown;
  });
}

const toCheckpointCore = <J, B>(r: CheckpointRow<J, B>, d: RowDecode<J, B>, bodies: ReadonlyMap<number, string>): Checkpoint => ({
  sessionId: r.session_id,
  seq: r.seq,
  requestId: r.request_id,
  clientRequestId: r.client_request_id,
  agent: r.agent,
  patId: r.pat_id,
  model: r.model,
  directiveVersion: r.directive_version,
  messages: (() => {
    const refs = refsOf(r);
    return refs ? rebuild(refs, bodies) : (d.json(r.messages) as unknown[]);
  })(),
  reply: r.reply,
  finishReason: r.finish_reason,
  usage:
    r.prompt_tokens === null && r.completion_tokens === null && r.total_tokens === null
      ? null
      : {
          promptTokens: r.prompt_tokens ?? 0,
          completionTokens: r.completion_tokens ?? 0,
          totalTokens: r.total_tokens ?? 0,
          ...(r.cached_tokens !== null && r.cached_tokens !== undefined ? { cachedTokens: r.cached_tokens } : {}),
          ...(r.reasoning_tokens !== null && r.reasoning_tokens !== undefined ? { reasoningTokens: r.reasoning_tokens } : {}),
        },
  costUsd: r.cost_usd ?? null,
  status: r.status,
  errorCode: r.error_code,
  stream: d.bool(r.stream),
  createdAt: r.created_at,
});

/**
 * The values of one checkpoint in CHECKPOINT_COLS order, for a positional INSERT. Text is cleaned
 * the same way for every store (store-text.ts: no NUL, no lone surrogates), so one request's odd
 * bytes cannot make a store refuse the batch it is in.
 */
export const checkpointParams = (
  sessionId: string,
  seq: number,
  c: CheckpointInput,
  e: ParamEncode & {
    /** The upstream's reply text, after the shared cleaning (a store-specific step, if any). */
    reply: (s: string | null) => string | null;
    /** The message ids as the store's column takes them */
    refs: (ids: number[]) => unknown;
  },
  /** The ids of the checkpoint's messages in the ledger, in order (one per message) */
  refs: number[],
): unknown[] => [
  text(sessionId),
  seq,
  text(c.requestId),
  text(c.agent),
  text(c.patId),
  text(c.model),
  c.directiveVersion,
  // The messages live in the ledger (message_refs); this column only holds rows from before it.
  '[]',
  e.reply(text(c.reply)),
  text(c.finishReason),
  c.usage?.promptTokens ?? null,
  c.usage?.completionTokens ?? null,
  c.usage?.totalTokens ?? null,
  c.status,
  text(c.errorCode),
  e.bool(c.stream),
  c.createdAt,
  // ?? null: a checkpoint spooled by an older version has no such field.
  c.clientRequestId ?? null,
  e.refs(refs),
  // One reference per message, in order; metadata mode stores none and says how many there were.
  c.messageCount ?? refs.length,
  text(c.protocol),
  text(c.upstreamPath),
  text(c.provider),
  text(c.servedModel),
  text(c.upstreamTemplate),
  c.contentMode && c.contentMode !== 'full' ? c.contentMode : null,
  text(c.replayOf),
  attemptsText(c.attempts),
  c.usage?.cachedTokens ?? null,
  c.usage?.reasoningTokens ?? null,
  c.costUsd ?? null,
  decisionsText(c.policyDecisions),
  text(c.cacheStatus),
  text(c.responseId),
  text(c.continuedId),
  c.stateAt ? JSON.stringify(c.stateAt) : null,
  c.translatedTurn ? text(JSON.stringify(c.translatedTurn)) : null,
];

/**
 * SessionStore.findResponseLink's two lookups, each on its partial index: the turn that created the
 * reply, else the first turn that continued the id. Parameters: the id (`?` or `$1`).
 */
export const responseLinkSql = (param: string): [byResponse: string, byContinued: string] => [
  `SELECT session_id, agent, state_at FROM checkpoints WHERE response_id = ${param} ORDER BY created_at LIMIT 1`,
  `SELECT session_id, agent, state_at FROM checkpoints WHERE continued_id = ${param} ORDER BY created_at LIMIT 1`,
];

/** SessionStore.findTranslatedTurn's lookup, on the response_id index. Parameter: the id. */
export const translatedTurnSql = (param: string): string =>
  `SELECT agent, translated_turn, message_refs FROM checkpoints WHERE response_id = ${param} AND translated_turn IS NOT NULL ORDER BY created_at LIMIT 1`;

export interface TranslatedTurnRow {
  agent: string;
  translated_turn: string;
  message_refs: CheckpointRow<unknown, unknown>['message_refs'];
}

/**
 * A stored translated turn with its input rebuilt from the checkpoint's messages (`bodies`: the
 * JSON text of each, by id); null when the row is not one (its continuation then gets the 400).
 */
export function toTranslatedTurn(r: TranslatedTurnRow, bodies: ReadonlyMap<number, string>): StoredTranslatedTurn | null {
  const refs = refsOf(r);
  const turn = translatedTurnOf(r.translated_turn);
  if (!refs || !turn || turn.skip > refs.length) return null;
  const inputRefs = refs.slice(turn.skip);
  const input = rebuild(inputRefs, bodies);
  const bytes = inputRefs.reduce((n, id) => n + bodies.get(id)!.length, r.translated_turn.length);
  return { agent: r.agent, previous: turn.previous, items: [...input, ...turn.output], bytes };
}

function translatedTurnOf(text: string): TranslatedTurnRecord | null {
  try {
    const v = JSON.parse(text) as Partial<TranslatedTurnRecord>;
    if (!Array.isArray(v.output) || !Number.isSafeInteger(v.skip) || v.skip! < 0) return null;
    return { previous: typeof v.previous === 'string' ? v.previous : null, skip: v.skip!, output: v.output };
  } catch {
    return null;
  }
}

export interface ResponseLinkRow {
  session_id: string;
  agent: string;
  state_at: string | null;
}

export const toResponseLink = (r: ResponseLinkRow): StoredResponseLink => ({
  sessionId: r.session_id,
  agent: r.agent,
  stateAt: r.state_at ? stateAtOf(r.state_at) : null,
});

/** A stored state_at, or null when it is not one (read leniently: a bad row only loses the key pin). */
function stateAtOf(text: string): ResponseStateAt | null {
  try {
    const v = JSON.parse(text) as Partial<ResponseStateAt>;
    if (typeof v.provider !== 'string') return null;
    return { provider: v.provider, keyIndex: typeof v.keyIndex === 'number' ? v.keyIndex : null };
  } catch {
    return null;
  }
}

/**
 * SessionStore.pageSessions as SQL for either engine: newest created first, continuing after
 * `before`. `bind` adds one parameter and returns its placeholder (`?` or `$n`).
 */
export function sessionPageSql(filter: SessionPageFilter | undefined, limit: number, bind: (value: unknown) => string): string {
  const where: string[] = [];
  if (filter?.agent !== undefined) where.push(`agent = ${bind(filter.agent)}`);
  const before = filter?.before;
  if (before) where.push(`(created_at < ${bind(before.createdAt)} OR (created_at = ${bind(before.createdAt)} AND id < ${bind(before.id)}))`);
  return `SELECT ${SESSION_COLS} FROM sessions ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
    ORDER BY created_at DESC, id DESC LIMIT ${bind(limit)}`;
}
