// The embedded store: one SQLite file (default $IBEX_HOME/ibex.db) holding agents, PATs, the
// revocation log, directives, sessions and traces. Opening does not migrate; callers run migrate().
import { migrationSource } from '../migrations.js';
import type { RelationalOptions, RelationalStores } from '../relational.js';
import { SqliteAgentStore } from './agents.js';
import { SqliteDb } from './db.js';
import { SqliteDirectiveStore } from './directives.js';
import { migrateSqlite, pendingSqliteMigrations, sqliteMigrationStatus } from './migrate.js';
import { SqliteRevocationLog } from './revocations.js';
import { SqliteSessionStore } from './sessions.js';
import { SqliteTokenStore } from './tokens.js';
import { SqliteTraceSink } from './traces.js';
import { convertSqliteCheckpoints } from './convert.js';

/** Whether the ledger's tables exist (a migrations folder without 0007 in tests). */
const ledgerReady = (db: SqliteDb) => !!db.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_sessions'");

export type SqliteStoreOptions = RelationalOptions;

export async function openSqliteStores(path: string, opts: SqliteStoreOptions = {}): Promise<RelationalStores> {
  const log = opts.log ?? (() => {});
  const db = new SqliteDb(path);
  const migrations = migrationSource('sqlite', opts.migrationsDir);
  return {
    agents: new SqliteAgentStore(db),
    tokens: new SqliteTokenStore(db),
    revocations: new SqliteRevocationLog(db),
    directives: new SqliteDirectiveStore(db),
    sessions: new SqliteSessionStore(db),
    traces: new SqliteTraceSink(db),
    migrate: async () => {
      const applied = migrateSqlite(db, migrations(), log);
      // Checkpoints from before the ledger (0007): moved into it in bounded batches.
      if (ledgerReady(db)) convertSqliteCheckpoints(db, log);
      return applied;
    },
    migrationStatus: async () => sqliteMigrationStatus(db, migrations()),
    ready: async () => {
      try {
        db.get('SELECT 1');
        const pending = pendingSqliteMigrations(db, migrations());
        if (pending.length) {
          return [{ name: 'storage', ok: false, detail: `${pending.length} migration(s) pending: run \`ibex migrate\`` }];
        }
        return [{ name: 'storage', ok: true, detail: `sqlite ${db.path}` }];
      } catch (err) {
        return [{ name: 'storage', ok: false, detail: `sqlite ${db.path}: ${(err as Error).message}` }];
      }
    },
    close: async () => db.close(),
    describe: () => `storage: sqlite ${db.path}`,
  };
}
