// Display helpers; every page formats numbers, times and ids the same way.
import type { Time } from './types';

export function toDate(t: Time | null | undefined): Date | null {
  if (t === null || t === undefined || t === '') return null;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(t: Time | null | undefined): string {
  const d = toDate(t);
  if (!d) return '—';
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour12: false });
  return today ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

export function fmtUsd(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n !== 0 && Math.abs(n) < 0.01) return `$${n.toFixed(4)}`;
  return `$${n.toFixed(2)}`;
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.01 ? 2 : 1)}%`;
}

export function fmtRate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n >= 10 ? n.toFixed(0) : n.toFixed(2);
}

export function statusClass(status: number | string): string {
  if (typeof status === 'string') return status === 'ok' || status === 'active' ? 'ok' : status === 'disabled' || status === 'expired' ? 'warn' : 'err';
  if (status >= 500) return 'err';
  if (status >= 400) return 'warn';
  return 'ok';
}

/** Percentile of an unsorted list (nearest rank), NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `pii-redact modify (request): redacted 1 email; deny-patterns reject (request): …` */
export function describeDecisions(ds: readonly { policy: string; phase: string; action: string; detail: string }[]): string {
  return ds.map((d) => `${d.policy} ${d.action} (${d.phase}): ${d.detail}`).join('; ');
}
