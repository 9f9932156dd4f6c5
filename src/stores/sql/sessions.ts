import type { Checkpoint, CheckpointInput, CheckpointStatus, Session, SessionPageFilter } from '../ports.js';
import { storeJson, storeTextOrNull as text } from '../store-text.js';
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
}

export const SESSION_COLS =
  'id, agent, pat_id, created_at, updated_at, turns, prompt_tokens, completion_tokens, total_tokens, status';
export const CHECKPOINT_COLS =
  'session_id, seq, request_id, agent, pat_id, model, directive_version, messages, reply, finish_reason, ' +
  'prompt_tokens, completion_tokens, total_tokens, status, error_code, stream, created_at, client_request_id';
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
  status: r.status,
});

export const toCheckpoint = <J, B>(r: CheckpointRow<J, B>, d: RowDecode<J, B>): Checkpoint => ({
  sessionId: r.session_id,
  seq: r.seq,
  requestId: r.request_id,
  clientRequestId: r.client_request_id,
  agent: r.agent,
  patId: r.pat_id,
  model: r.model,
  directiveVersion: r.directive_version,
  messages: d.json(r.messages) as unknown[],
  reply: r.reply,
  finishReason: r.finish_reason,
  usage:
    r.prompt_tokens === null && r.completion_tokens === null && r.total_tokens === null
      ? null
      : { promptTokens: r.prompt_tokens ?? 0, completionTokens: r.completion_tokens ?? 0, totalTokens: r.total_tokens ?? 0 },
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
  },
): unknown[] => [
  text(sessionId),
  seq,
  text(c.requestId),
  text(c.agent),
  text(c.patId),
  text(c.model),
  c.directiveVersion,
  storeJson(JSON.stringify(c.messages ?? [])),
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
];

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
