// Fixed-width cells for the tail table: one string per row is far cheaper for Ink to lay out
// than a Box per cell, and keeps columns aligned whatever the values.
import { printable } from '../../util/printable.js';
import type { Checkpoint, Trace } from '../../stores/ports.js';
import type { LiveSession } from './sessions.js';

export interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
}

// Laid out for an 80-column terminal: every column up to TOKENS fits in 80; the request id after it
// is cut first on a narrow one (rows truncate at the end).
export const COLUMNS = {
  time: { title: 'TIME', width: 8, align: 'left' },
  agent: { title: 'AGENT', width: 9, align: 'left' },
  session: { title: 'SESSION', width: 8, align: 'left' },
  model: { title: 'MODEL', width: 11, align: 'left' },
  // the HTTP status and a stream marker (`~`): `200~` is a streamed reply
  status: { title: 'HTTP', width: 4, align: 'left' },
  error: { title: 'ERROR', width: 14, align: 'left' },
  latency: { title: 'LAT ms', width: 6, align: 'right' },
  overhead: { title: 'OVH ms', width: 6, align: 'right' },
  tokens: { title: 'TOKENS', width: 6, align: 'right' },
  // USD at the model's price; '-' when the price is unknown (src/usage/prices.ts).
  cost: { title: 'COST $', width: 8, align: 'right' },
  // Last: the widest and the first to go on a narrow terminal. The caller's X-Request-Id, the id a
  // user reports; the full one is in the detail view (Enter) and in `ibex tail --json`.
  clientRequestId: { title: 'REQUEST ID', width: 14, align: 'left' },
} as const satisfies Record<string, Column>;

export type ColumnName = keyof typeof COLUMNS;
export type Columns = Record<ColumnName, Column>;

/**
 * The columns for a terminal `width` wide: at 80 the base widths (the request id cut off); the room
 * beyond the request id widens, in turn, the agent, the error code and the model (each by up to 8).
 */
export function columnsFor(width = 80): Columns {
  // the request id column (and its separator) is shown whole before any other column grows
  let extra = Math.max(0, width - 80 - COLUMNS.clientRequestId.width - 1);
  const grow = (col: Column): Column => {
    const by = Math.min(extra, 8);
    extra -= by;
    return { ...col, width: col.width + by };
  };
  return { ...COLUMNS, agent: grow(COLUMNS.agent), error: grow(COLUMNS.error), model: grow(COLUMNS.model) };
}

export function cell(raw: string, col: Column): string {
  const text = printable(raw);
  const t = text.length > col.width ? `${text.slice(0, col.width - 1)}…` : text;
  return col.align === 'left' ? t.padEnd(col.width) : t.padStart(col.width);
}

export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** 1234 → "1234", 12.34 → "12.3", 0.456 → "0.46": enough digits to compare without noise. */
export function ms(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function rowCells(t: Trace, cols: Columns = COLUMNS): Record<ColumnName, string> {
  return {
    time: cell(clock(t.startedAt), cols.time),
    agent: cell(t.agent ?? '-', cols.agent),
    session: cell(t.sessionId ? t.sessionId.slice(0, 8) : '-', cols.session),
    model: cell(t.model ?? '-', cols.model),
    status: cell(`${t.status}${t.stream ? '~' : ''}`, cols.status),
    error: cell(t.errorCode ?? '', cols.error),
    latency: cell(ms(t.totalMs), cols.latency),
    overhead: cell(ms(t.overheadMs), cols.overhead),
    tokens: cell(t.totalTokens === null ? '-' : String(t.totalTokens), cols.tokens),
    cost: cell(usd(t.costUsd ?? null), cols.cost),
    clientRequestId: cell(t.clientRequestId ?? '-', cols.clientRequestId),
  };
}

/** 0.000123 → "0.000123", 1.5 → "1.5000": six decimals for the small amounts one request costs. */
export function usd(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return value >= 1 ? value.toFixed(4) : value.toFixed(6);
}

export function headerCells(cols: Columns = COLUMNS): string {
  return (Object.keys(cols) as ColumnName[]).map((k) => cell(cols[k].title, cols[k])).join(' ');
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`;
}

// ---------- sessions view ----------

export const SESSION_COLUMNS = {
  session: { title: 'SESSION', width: 16, align: 'left' },
  agent: { title: 'AGENT', width: 10, align: 'left' },
  version: { title: 'DIR', width: 4, align: 'right' },
  turns: { title: 'TURNS', width: 5, align: 'right' },
  errors: { title: 'ERR', width: 3, align: 'right' },
  tokens: { title: 'TOKENS', width: 7, align: 'right' },
  cost: { title: 'COST $', width: 8, align: 'right' },
  last: { title: 'LAST', width: 8, align: 'left' },
  status: { title: 'HTTP', width: 4, align: 'left' },
} as const satisfies Record<string, Column>;

export type SessionColumnName = keyof typeof SESSION_COLUMNS;

export function sessionHeaderCells(): string {
  return (Object.keys(SESSION_COLUMNS) as SessionColumnName[]).map((k) => cell(SESSION_COLUMNS[k].title, SESSION_COLUMNS[k])).join(' ');
}

export function sessionCells(s: LiveSession): string {
  const c = SESSION_COLUMNS;
  return [
    cell(s.id, c.session),
    cell(s.agent ?? '-', c.agent),
    cell(s.directiveVersion === null ? '-' : `v${s.directiveVersion}`, c.version),
    cell(String(s.turns), c.turns),
    cell(String(s.errors), c.errors),
    cell(String(s.tokens), c.tokens),
    cell(s.costUsd === null ? '-' : s.costUsd.toFixed(4), c.cost),
    cell(clock(s.lastAt), c.last),
    cell(String(s.lastStatus), c.status),
  ].join(' ');
}

// ---------- detail views ----------

/** Every field of one trace, one `name  value` line each (the request view's Enter). */
export function traceDetailLines(t: Trace): string[] {
  const v = (x: unknown) => (x === null || x === undefined || x === '' ? '-' : String(x));
  const stages = Object.entries(t.stages)
    .map(([k, d]) => `${k} ${ms(d)}`)
    .join(' · ');
  const rows: [string, string][] = [
    ['request id', t.requestId],
    ['X-Request-Id', v(t.clientRequestId)],
    ['started', new Date(t.startedAt).toISOString()],
    ['agent', v(t.agent)],
    ['session', v(t.sessionId)],
    ['PAT', v(t.patId)],
    ['model', v(t.model)],
    ['provider', v(t.provider)],
    ['directive', t.directiveVersion === null ? '-' : `v${t.directiveVersion}`],
    ['stream', t.stream ? 'yes' : 'no'],
    ['status', `${t.status}${t.errorCode ? ` ${t.errorCode}` : ''}`],
    ['total ms', ms(t.totalMs)],
    ['upstream ms', `${ms(t.upstreamMs)} (first byte ${ms(t.upstreamTtfbMs)})`],
    ['overhead ms', ms(t.overheadMs)],
    ['stages ms', stages || '-'],
    ['tokens', `${v(t.promptTokens)} in · ${v(t.completionTokens)} out · ${v(t.totalTokens)} total`],
    ['bytes', `${t.bytesIn} in · ${t.bytesOut} out`],
  ];
  // A trace from a replica older than costs has none (undefined), as an unpriced one has null.
  if (typeof t.costUsd === 'number') rows.push(['cost $', t.costUsd.toFixed(6)]);
  return rows.map(([k, val]) => `${k.padEnd(12)} ${printable(val)}`);
}

export interface ConversationLine {
  kind: 'directive' | 'system' | 'user' | 'assistant' | 'tool' | 'turn' | 'reply';
  text: string;
}

/** The text of a message's content: a string, or the text parts of a parts array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '[part]'))
      .join(' ');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

const oneLine = (s: string) => printable(s.replace(/\s+/g, ' ').trim());

function messageLines(m: unknown, directive: boolean): ConversationLine[] {
  if (!m || typeof m !== 'object') return [];
  const msg = m as { role?: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string };
  const role = msg.role ?? '?';
  const out: ConversationLine[] = [];
  const text = oneLine(contentText(msg.content));
  if (directive) out.push({ kind: 'directive', text });
  else if (role === 'tool') out.push({ kind: 'tool', text: `tool ${msg.tool_call_id ?? ''}: ${text}` });
  else if (text || !Array.isArray(msg.tool_calls)) {
    const kind = role === 'user' || role === 'assistant' || role === 'system' ? role : 'user';
    out.push({ kind, text: `${role}: ${text}` });
  }
  if (Array.isArray(msg.tool_calls)) {
    for (const c of msg.tool_calls as { function?: { name?: string; arguments?: string } }[]) {
      out.push({ kind: 'tool', text: `assistant → ${c.function?.name ?? '?'}(${oneLine(c.function?.arguments ?? '')})` });
    }
  }
  return out;
}

/**
 * A session's conversation from its checkpoints: the directive once, then per turn a status line,
 * the messages that turn added, and the reply. Each request carries the whole conversation so far,
 * so a turn's new messages are those after the previous request's messages and reply.
 */
export function conversationLines(checkpoints: Checkpoint[]): ConversationLine[] {
  const out: ConversationLine[] = [];
  let seen = 0;
  let directiveShown: number | null | undefined;
  for (const cp of checkpoints) {
    const msgs = Array.isArray(cp.messages) ? cp.messages : [];
    const hasDirective = cp.directiveVersion !== null && (msgs[0] as { role?: string } | undefined)?.role === 'system';
    if (hasDirective && directiveShown !== cp.directiveVersion) {
      out.push({ kind: 'directive', text: `directive v${cp.directiveVersion}: ${oneLine(contentText((msgs[0] as { content?: unknown }).content))}` });
      directiveShown = cp.directiveVersion;
    }
    const start = Math.max(hasDirective ? 1 : 0, seen <= msgs.length ? seen : msgs.length - 1);
    const status = cp.status === 'ok' ? 'ok' : `${cp.status}${cp.errorCode ? ` ${cp.errorCode}` : ''}`;
    const tokens = cp.usage ? ` · ${cp.usage.totalTokens} tokens` : '';
    out.push({ kind: 'turn', text: `── turn ${cp.seq} · ${status}${cp.stream ? ' · stream' : ''}${tokens} · ${clock(cp.createdAt)}` });
    for (const m of msgs.slice(start)) out.push(...messageLines(m, false));
    if (cp.reply !== null) out.push({ kind: 'reply', text: `assistant: ${oneLine(cp.reply)}` });
    seen = msgs.length + (cp.reply !== null ? 1 : 0);
  }
  return out;
}

/** Without the store (`--url`): a session's turns as the live events carried them. */
export function timelineLines(s: LiveSession): ConversationLine[] {
  return s.timeline.map((t, i) => ({
    kind: 'turn' as const,
    text:
      `── turn ${i + 1} · ${t.status}${t.errorCode ? ` ${t.errorCode}` : ''}${t.stream ? ' · stream' : ''}` +
      ` · ${t.directiveVersion === null ? 'no directive' : `v${t.directiveVersion}`} · ${t.totalTokens ?? '-'} tokens · ${ms(t.totalMs)} ms · ${clock(t.startedAt)}`,
  }));
}
