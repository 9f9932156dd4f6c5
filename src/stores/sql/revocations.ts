import type { RevocationEvent, RevocationKind } from '../ports.js';

export interface RevocationRow {
  seq: number;
  kind: RevocationKind;
  subject: string;
  pat_id: string | null;
  at: number;
}

export const REVOCATION_COLS = 'seq, kind, subject, pat_id, at';

/** How many events `since` returns when the caller gives no limit. */
export const DEFAULT_SINCE_LIMIT = 1000;

export const toEvent = (r: RevocationRow): RevocationEvent => ({
  seq: r.seq,
  kind: r.kind,
  subject: r.subject,
  patId: r.pat_id,
  at: r.at,
});
