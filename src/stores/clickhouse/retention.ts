// Trace retention. Servers with table TTL (19.6+) get `MODIFY TTL started_at + toIntervalDay(N)`
// and expire rows themselves; older servers (Debian's 18.16) have no TTL, so the sink drops whole
// daily partitions older than N days. Pure functions here build the SQL; index.ts runs it.
import { ident } from './url.js';

const DAY_MS = 86_400_000;

/** The TTL clause as ClickHouse prints it back in `system.tables.engine_full`. */
export function ttlClause(retentionDays: number): string {
  return `TTL started_at + toIntervalDay(${wholeDays(retentionDays)})`;
}

export function ttlStatement(database: string, retentionDays: number): string {
  return `ALTER TABLE ${ident(database)}.traces MODIFY ${ttlClause(retentionDays)}`;
}

/** Whether the table already has exactly this TTL (avoids re-issuing it, which rewrites parts on new servers). */
export function ttlIsCurrent(engineFull: string, retentionDays: number): boolean {
  const m = /TTL\s+started_at\s*\+\s*toIntervalDay\((\d+)\)/.exec(engineFull);
  return m !== null && Number(m[1]) === wholeDays(retentionDays);
}

/**
 * Daily partitions (`YYYYMMDD`, UTC) whose every row is older than retentionDays: a partition is
 * dropped once its day ended more than retentionDays ago, so rows live between N and N+1 days.
 */
export function expiredPartitions(partitions: string[], retentionDays: number, now: number): string[] {
  const cutoff = yyyymmdd(now - wholeDays(retentionDays) * DAY_MS);
  return partitions.filter((p) => /^\d{8}$/.test(p) && p < cutoff).sort();
}

export function dropPartitionStatement(database: string, partition: string): string {
  if (!/^\d{8}$/.test(partition)) throw new Error(`clickhouse: unexpected partition id "${partition}"`);
  return `ALTER TABLE ${ident(database)}.traces DROP PARTITION ${partition}`;
}

export function yyyymmdd(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

function wholeDays(days: number): number {
  if (!Number.isInteger(days) || days < 1) throw new Error(`clickhouse: retention must be a whole number of days >= 1, got ${days}`);
  return days;
}
