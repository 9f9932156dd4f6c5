// `ibex prune`: one unbounded run of retention (every batch until nothing is left), on the
// configured stores. The relational store deletes in batches (see its retention.ts); ClickHouse
// traces are asked to apply their TTL or drop their expired day partitions.
import type { IbexConfig } from '../config.js';
import type { OpenedStores } from '../stores/factory.js';
import type { PruneCounts } from '../stores/ports.js';
import { pruneCutoffs } from './retention-job.js';
import { formatRetention, retentionSettings } from './retention-settings.js';

export interface PruneReport {
  dryRun: boolean;
  /** Retention applied, e.g. `30d`, `forever` */
  traces: string;
  sessions: string;
  /** Rows per table deleted (or, dry run, to delete) */
  counts: PruneCounts;
  notes: string[];
}

interface ClickHouseRetention {
  enforceRetention(now?: number, dryRun?: boolean): Promise<{ mode: string; statements: string[] }>;
}

export async function pruneNow(stores: OpenedStores, config: IbexConfig, opts: { dryRun: boolean; now?: number }): Promise<PruneReport> {
  const settings = retentionSettings(config);
  const now = opts.now ?? Date.now();
  const relationalTraces = !config.clickhouseUrl;
  const counts = await stores.sessions.prune({ ...pruneCutoffs(settings, relationalTraces, now), dryRun: opts.dryRun });
  const notes: string[] = [];
  const ch = stores.traces as Partial<ClickHouseRetention>;
  if (!relationalTraces && typeof ch.enforceRetention === 'function') {
    const r = await ch.enforceRetention(now, opts.dryRun);
    notes.push(
      r.mode === 'ttl'
        ? `traces (clickhouse): table TTL, expired rows are deleted by the server${r.statements.length ? ` (${opts.dryRun ? 'would set' : 'set'}: ${r.statements.join('; ')})` : ''}`
        : `traces (clickhouse): ${r.statements.length} day partition(s) ${opts.dryRun ? 'to drop' : 'dropped'}`,
    );
  }
  if (settings.sessionsMs === null) notes.push('sessions are kept forever: set IBEX_SESSION_RETENTION or `retention.sessions` in ibex.yaml');
  return { dryRun: opts.dryRun, traces: formatRetention(settings.tracesMs), sessions: formatRetention(settings.sessionsMs), counts, notes };
}
