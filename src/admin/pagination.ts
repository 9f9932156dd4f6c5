// Cursor pagination for every admin list: `?limit=` (default 50, at most 500) and `?cursor=`, answered
// as `{data, next_cursor}`. A cursor is the sort key of the last row sent (keyset pagination), encoded
// as base64url JSON so clients treat it as opaque: rows written while a client walks the pages never
// make it see a row twice or skip one, which OFFSET would.
import { IbexError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** What a cursor holds: which list it belongs to, and the key of the last row of its page. */
export interface CursorKey {
  /** The list: a cursor of one list is refused by another */
  k: string;
  /** The row's instant (createdAt, startedAt), when the list is ordered by one */
  at?: number;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key inside `cursor` for list `kind`; a cursor that is not one (or is another list's) is a 400. */
export function decodeCursor(cursor: string | undefined, kind: string, withInstant: boolean): CursorKey | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = null;
  }
  const k = key as Partial<CursorKey> | null;
  const ok =
    k !== null &&
    typeof k === 'object' &&
    k.k === kind &&
    typeof k.id === 'string' &&
    (!withInstant || (typeof k.at === 'number' && Number.isFinite(k.at)));
  if (!ok) throw invalidCursor();
  return k as CursorKey;
}

export function invalidCursor(): IbexError {
  return new IbexError('IBEX_ERR_INVALID_REQUEST', {
    message: 'The cursor is not one this list gave out: pass `next_cursor` from the previous page unchanged.',
    param: 'cursor',
  });
}

/**
 * One page from a store query that takes a limit: asks for one row more than the page so it knows,
 * without a count, whether a next page exists.
 */
export async function keysetPage<T>(
  limit: number,
  fetch: (limit: number) => Promise<T[]>,
  keyOf: (row: T) => CursorKey,
): Promise<Page<T>> {
  const rows = await fetch(limit + 1);
  const data = rows.slice(0, limit);
  return { data, next_cursor: rows.length > limit ? encodeCursor(keyOf(data[data.length - 1]!)) : null };
}

/**
 * One page of a list the store answers whole (agents, PATs: small, in a stable order where new rows
 * come first): the cursor names the last row sent, and the page continues after it.
 */
export function slicePage<T>(all: T[], limit: number, kind: string, cursor: CursorKey | undefined, idOf: (row: T) => string): Page<T> {
  let start = 0;
  if (cursor) {
    const i = all.findIndex((row) => idOf(row) === cursor.id);
    if (i < 0) throw invalidCursor();
    start = i + 1;
  }
  const data = all.slice(start, start + limit);
  const more = start + limit < all.length;
  return { data, next_cursor: more ? encodeCursor({ k: kind, id: idOf(data[data.length - 1]!) }) : null };
}
