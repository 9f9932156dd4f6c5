// How commands print: `--json` is exactly one JSON document on stdout; otherwise aligned tables.
// Instants are shown one way everywhere, ISO 8601 in UTC (`2025-01-31T12:00:00.000Z`), in tables and
// in JSON: stores keep epoch milliseconds, and every command passes what it prints through `isoTimes`
// (or `isoTime` for one value) so no command can drift. Errors stay plain text on stderr, with --json too.
import { printable } from '../util/printable.js';
import { describeDecisions, type PolicyDecisionRecord } from '../policies/types.js';

export { printable };
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  // A field's words as its heading: `totalTokens` → TOTAL TOKENS, `updatedAt` → UPDATED AT.
  const headings = columns.map((c) => c.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase());
  const widths = headings.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(line(headings) + '\n');
  for (const row of cells) process.stdout.write(line(row) + '\n');
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map((x) => printable(String(x))).join(',');
  return printable(String(v));
}

/** Field names holding an instant (epoch ms in the stores): `createdAt`, `expiresAt`, `startedAt`, … */
const INSTANT_KEY = /At$/;

/**
 * A record (or a list of records) with its numeric `…At` fields as ISO 8601 strings: the one JSON time
 * format of the CLI. Only the record's own fields: nested values such as a checkpoint's `messages` are
 * the caller's data and are never rewritten. Durations (`…Ms`) and counts are left alone.
 */
export function isoTimes<T extends object>(value: T[]): IsoTimes<T>[];
export function isoTimes<T extends object>(value: T): IsoTimes<T>;
export function isoTimes(value: object): unknown {
  if (Array.isArray(value)) return value.map((v: object) => isoTimes(v));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = INSTANT_KEY.test(k) && typeof v === 'number' ? isoTime(v) : v;
  return out;
}

/** The type `isoTimes` returns: `…At` numbers become strings (null stays null). */
export type IsoTimes<T> = {
  [K in keyof T]: K extends `${string}At` ? (T[K] extends number ? string : T[K] extends number | null ? string | null : T[K]) : T[K];
};

export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const d = new Date(ms);
  // A value outside the Date range (a corrupt row) must not break a listing.
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/**
 * The `policy:` and `cache:` lines of a trace or a checkpoint (issue 17): what the agent's policies
 * changed, held or blocked, and the response cache's answer. With `always`, printed even when there is
 * nothing to say (`policy: none`, `cache: -`); otherwise only the lines that have something.
 */
export function policyCacheLines(
  r: { policyDecisions?: readonly PolicyDecisionRecord[] | null; cacheStatus?: string | null },
  always: boolean,
): string[] {
  const out: string[] = [];
  const decisions = r.policyDecisions ?? [];
  if (decisions.length || always) out.push(`policy: ${decisions.length ? describeDecisions(decisions) : 'none'}`);
  if (r.cacheStatus || always) out.push(`cache: ${r.cacheStatus ?? '-'}`);
  return out.map(printable);
}
