import type { NewPat, PatRecord, SpendLimits } from '../ports.js';
import type { RowDecode } from './decode.js';
import { limitAssignments, limitCols, limitsFromRow } from './limits.js';

export interface PatRow<Json> {
  id: string;
  prefix: string;
  hash: string;
  name: string | null;
  rpm: number | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  /** The PAT's agents in the order given at creation (SQLite: a JSON array, Postgres: text[]). */
  agents: Json;
  [limit: string]: unknown;
}

/** The `pats p` columns; each adapter adds its own `agents` aggregate (json_group_array, ARRAY). */
export const PAT_COLS = `p.id, p.prefix, p.hash, p.name, p.rpm, p.created_at, p.expires_at, p.revoked_at, ${limitCols('p.')}`;

export const toPat = <J>(r: PatRow<J>, d: Pick<RowDecode<J, unknown>, 'json'>): PatRecord => ({
  id: r.id,
  prefix: r.prefix,
  hash: r.hash,
  name: r.name,
  agents: d.json(r.agents) as string[],
  rpm: r.rpm,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  ...limitsFromRow(r),
});

/** The record `create` returns: what it just stored, without reading it back. */
export const createdPat = (pat: NewPat, agents: string[], createdAt: number): PatRecord => ({
  id: pat.id,
  prefix: pat.prefix,
  hash: pat.hash,
  name: pat.name ?? null,
  agents,
  rpm: pat.rpm ?? null,
  createdAt,
  expiresAt: pat.expiresAt ?? null,
  revokedAt: null,
  ...limitsFromRow(limitRowOf(pat)),
});

/** A new record's limits as row columns (absent → null). */
function limitRowOf(pat: Partial<SpendLimits>): Record<string, unknown> {
  const { columns, values } = limitAssignments(pat);
  return Object.fromEntries(columns.map((c, i) => [c, values[i]]));
}
