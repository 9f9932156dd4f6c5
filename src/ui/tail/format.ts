// Fixed-width cells for the tail table: one string per row is far cheaper for Ink to lay out
// than a Box per cell, and keeps columns aligned whatever the values.
import { printable } from '../../util/printable.js';
import type { Trace } from '../../stores/ports.js';

export interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
}

export const COLUMNS = {
  time: { title: 'TIME', width: 8, align: 'left' },
  agent: { title: 'AGENT', width: 12, align: 'left' },
  session: { title: 'SESSION', width: 8, align: 'left' },
  model: { title: 'MODEL', width: 16, align: 'left' },
  status: { title: 'STATUS', width: 6, align: 'right' },
  latency: { title: 'LAT ms', width: 7, align: 'right' },
  overhead: { title: 'OVH ms', width: 6, align: 'right' },
  tokens: { title: 'TOKENS', width: 6, align: 'right' },
  // USD at the model's price; '-' when the price is unknown (src/usage/prices.ts).
  cost: { title: 'COST $', width: 8, align: 'right' },
  // Last: the widest and the first to go on a narrow terminal (rows truncate at the end). The
  // caller's X-Request-Id, the id a user reports; the full one is in `ibex tail --json`.
  clientRequestId: { title: 'REQUEST ID', width: 14, align: 'left' },
} as const satisfies Record<string, Column>;

export type ColumnName = keyof typeof COLUMNS;

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

export function rowCells(t: Trace): Record<ColumnName, string> {
  return {
    time: cell(clock(t.startedAt), COLUMNS.time),
    agent: cell(t.agent ?? '-', COLUMNS.agent),
    session: cell(t.sessionId ? t.sessionId.slice(0, 8) : '-', COLUMNS.session),
    model: cell(t.model ?? '-', COLUMNS.model),
    status: cell(String(t.status), COLUMNS.status),
    latency: cell(ms(t.totalMs), COLUMNS.latency),
    overhead: cell(ms(t.overheadMs), COLUMNS.overhead),
    tokens: cell(t.totalTokens === null ? '-' : String(t.totalTokens), COLUMNS.tokens),
    cost: cell(usd(t.costUsd ?? null), COLUMNS.cost),
    clientRequestId: cell(t.clientRequestId ?? '-', COLUMNS.clientRequestId),
  };
}

/** 0.000123 → "0.000123", 1.5 → "1.5000": six decimals for the small amounts one request costs. */
export function usd(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return value >= 1 ? value.toFixed(4) : value.toFixed(6);
}

export function headerCells(): string {
  return (Object.keys(COLUMNS) as ColumnName[]).map((k) => cell(COLUMNS[k].title, COLUMNS[k])).join(' ');
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`;
}
