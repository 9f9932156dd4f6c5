// The day partitions of `traces` (migration 0012): traces_pYYYYMMDD holds one UTC day of started_at
// (epoch ms, [day start, next day start)); traces_default takes rows of any day without one.
// Partitions are made ahead (today and the next 2 days) after migrating and by the retention job, and
// dropped whole by retention (retention.ts). DDL here takes a lock on `traces` that holds trace
// inserts while it waits, so it waits at most LOCK_TIMEOUT and otherwise leaves the work to the next
// run (a partition is made 2 days before it is needed; an expired one can wait 10 minutes).
import { pgCode, type PgDb } from './db.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_PARTITION = 'traces_default';
const LOCK_TIMEOUT = "SET LOCAL lock_timeout = '1s'";

/** Another replica made the same partition first: "already exists", a catalog unique key, or an overlap. */
const MADE_BY_ANOTHER = new Set(['42P07', '23505', '42P17']);
const UNDEFINED_TABLE = '42P01';

export interface DayPartition {
  name: string;
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
}

/** `traces_p20250131` for the UTC day containing `at` (epoch ms). */
export function partitionName(at: number): string {
  return `traces_p${new Date(at).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Makes the partitions of the UTC day of `now` and the `ahead` days after it; returns the names made.
 * Never throws: a failure is logged, and until a later run succeeds that day's rows go to the default.
 * A day whose rows are already in the default is skipped (Postgres refuses a partition the default
 * holds rows of); they stay there and retention deletes them in batches.
 */
export async function ensureTracePartitions(db: PgDb, now = Date.now(), ahead = 2): Promise<string[]> {
  const made: string[] = [];
  try {
    const kind = await db.query<{ k: string | null }>("SELECT relkind::text AS k FROM pg_class WHERE oid = to_regclass('traces')");
    if (kind[0]?.k !== 'p') return made; // not migrated to 0012 (a test's own migrations folder)
    for (let i = 0; i <= ahead; i++) {
      const from = Math.floor(now / DAY_MS) * DAY_MS + i * DAY_MS;
      const to = from + DAY_MS;
      const name = partitionName(from);
      const there = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
      if (there[0]?.t) continue;
      const held = await db.query<{ held: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${DEFAULT_PARTITION} WHERE started_at >= $1 AND started_at < $2) AS held`,
        [from, to],
      );
      if (held[0]?.held) {
        db.log(`storage: postgres traces: ${DEFAULT_PARTITION} holds rows of ${name.slice(8)}, so that day gets no partition; retention deletes them in batches`);
        continue;
      }
      try {
        // Bounds are integers and the name is digits: nothing here comes from outside.
        await db.tx(async (c) => {
          await c.query(LOCK_TIMEOUT);
          await c.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF traces FOR VALUES FROM (${from}) TO (${to})`);
        });
        made.push(name);
      } catch (err) {
        if (!MADE_BY_ANOTHER.has(pgCode(err) ?? '')) {
          db.log(`storage: postgres traces: could not create partition ${name}, will retry: ${(err as Error).message}`);
        }
      }
    }
  } catch (err) {
    db.log(`storage: postgres traces: could not check partitions, will retry: ${(err as Error).message}`);
  }
  return made;
}

/** Day partitions whose every row is older than `cutoff` (upper bound ≤ cutoff), oldest first. */
export async function expiredTracePartitions(db: PgDb, cutoff: number): Promise<DayPartition[]> {
  const rows = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'traces'::regclass`,
  );
  const parts: DayPartition[] = [];
  for (const r of rows) {
    // e.g. FOR VALUES FROM ('1738281600000') TO ('1738368000000'); the default's is DEFAULT and a
    // range an operator made with MINVALUE/MAXVALUE is not ours: both are left alone.
    const m = /FROM \('(-?\d+)'\) TO \('(-?\d+)'\)/.exec(r.bound);
    if (m) parts.push({ name: r.name, from: Number(m[1]), to: Number(m[2]) });
  }
  return parts.filter((p) => p.to <= cutoff).sort((a, b) => a.from - b.from);
}

/** Rows in one partition (counted by the database; 0 when another replica just dropped it). */
export async function partitionRows(db: PgDb, name: string): Promise<number> {
  try {
    return Number((await db.query<{ n: number }>(`SELECT COUNT(*)::bigint AS n FROM ${ident(name)}`))[0]!.n);
  } catch (err) {
    if (pgCode(err) === UNDEFINED_TABLE) return 0;
    throw err;
  }
}

/**
 * Drops one expired partition; returns its row count, or null when the lock was not had in time
 * (left for the next run). Counted just before the drop, without a lock: a late replay landing in
 * an expired day in between is dropped uncounted, which is rare and was due to go anyway.
 */
export async function dropTracePartition(db: PgDb, name: string): Promise<number | null> {
  const rows = await partitionRows(db, name);
  try {
    await db.tx(async (c) => {
      await c.query(LOCK_TIMEOUT);
      await c.query(`DROP TABLE IF EXISTS ${ident(name)}`); // IF EXISTS: replicas prune at once
    });
    return rows;
  } catch (err) {
    db.log(`storage: postgres traces: could not drop partition ${name}, will retry: ${(err as Error).message}`);
    return null;
  }
}
