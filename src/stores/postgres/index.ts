// The production store: PostgreSQL (IBEX_DATABASE_URL) holding agents, PATs, the revocation log,
// directives, sessions and (without ClickHouse) traces. Opening neither connects nor migrates:
// the pool connects on first use, and callers run migrate().
import { migrationSource } from '../migrations.js';
import { redactDatabaseUrl, type RelationalOptions, type RelationalStores } from '../relational.js';
import { PgAgentStore } from './agents.js';
import { PgDb, type PgOptions } from './db.js';
import { PgDirectiveStore } from './directives.js';
import { migratePostgres, pendingPostgresMigrations, postgresMigrationStatus } from './migrate.js';
import { PgRevocationLog } from './revocations.js';
import { PgSessionStore } from './sessions.js';
import { PgTokenStore } from './tokens.js';
import { PgTraceSink } from './traces.js';
import { convertPgCheckpoints } from './convert.js';
import { ensureTracePartitions } from './trace-partitions.js';

export type PostgresStoreOptions = RelationalOptions &
  PgOptions & {
    /**
     * Whether traces are written here (default true). False when they go to ClickHouse: the table
     * stays empty, and partitions made ahead for it would pile up, as retention never drops them.
     */
    traces?: boolean;
  };

export async function openPostgresStores(url: string, opts: PostgresStoreOptions = {}): Promise<RelationalStores> {
  const log = opts.log ?? (() => {});
  const db = new PgDb(url, opts, log);
  const where = redactDatabaseUrl(url);
  const migrations = migrationSource('postgres', opts.migrationsDir);
  return {
    agents: new PgAgentStore(db),
    tokens: new PgTokenStore(db),
    revocations: new PgRevocationLog(db),
    directives: new PgDirectiveStore(db),
    sessions: new PgSessionStore(db),
    traces: new PgTraceSink(db),
    migrate: async () => {
      const applied = await migratePostgres(db, migrations(), log);
      // Checkpoints from before the ledger (0007): moved into it in bounded batches.
      const ledger = await db.query<{ t: string | null }>("SELECT to_regclass('message_sessions')::text AS t");
      if (ledger[0]?.t) await convertPgCheckpoints(db, log);
      // Today's and the next days' trace partitions (0012); the retention job keeps making them.
      if (opts.traces !== false) await ensureTracePartitions(db);
      return applied;
    },
    migrationStatus: () => postgresMigrationStatus(db, migrations()),
    ready: async () => {
      try {
        const pending = await pendingPostgresMigrations(db, migrations());
        if (pending.length) {
          return [{ name: 'storage', ok: false, detail: `${pending.length} migration(s) pending: run \`ibex migrate\`` }];
        }
        return [{ name: 'storage', ok: true, detail: `postgres ${where}` }];
      } catch (err) {
        return [{ name: 'storage', ok: false, detail: `postgres ${where}: ${(err as Error).message}` }];
      }
    },
    close: () => db.close(),
    describe: () => `storage: postgres ${where}`,
  };
}
