// Applies migrations/postgres/*.sql under a session advisory lock, so replicas starting together
// take turns: the second one waits, then finds everything applied. Each file runs in its own
// transaction with the row recording it (Postgres DDL is transactional: a failure leaves nothing).
// A dedicated connection without the pool's query/statement timeouts: a migration (or waiting for
// another replica's) may legitimately take longer than a request should.
import pg from 'pg';
import type { Migration } from '../migrations.js';
import { migrationStatusOf, pendingMigrations } from '../migrations.js';
import type { MigrationStatus } from '../relational.js';
import { LOCKS, pgTypes, type PgDb, type Queryable } from './db.js';

const TABLE = 'ibex_migrations';

async function appliedMap(q: Queryable): Promise<Map<string, number>> {
  const exists = await q.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [TABLE]);
  if (!exists.rows[0]?.t) return new Map();
  const rows = await q.query<{ name: string; applied_at: number }>(`SELECT name, applied_at FROM ${TABLE}`);
  return new Map(rows.rows.map((r) => [r.name, r.applied_at]));
}

export async function migratePostgres(db: PgDb, all: Migration[], log: (line: string) => void): Promise<string[]> {
  const client = new pg.Client({
    connectionString: db.url,
    connectionTimeoutMillis: db.opts.connectionTimeoutMs ?? 2000,
    keepAlive: true,
    application_name: 'ibex-migrate',
    types: pgTypes,
  });
  client.on('error', (err) => log(`storage: postgres migration connection lost: ${err.message}`));
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCKS.migrations]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`);
      const done = await appliedMap(client);
      for (const m of pendingMigrations(all, done)) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql); // simple protocol: a file may hold many statements
          await client.query(`INSERT INTO ${TABLE} (name, applied_at) VALUES ($1, $2)`, [m.name, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.name);
        log(`storage: postgres migration applied: ${m.name}`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCKS.migrations]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
  return applied;
}

export async function postgresMigrationStatus(db: PgDb, all: Migration[]): Promise<MigrationStatus[]> {
  return migrationStatusOf(all, await appliedMap(db.pool));
}

export async function pendingPostgresMigrations(db: PgDb, all: Migration[]): Promise<Migration[]> {
  return pendingMigrations(all, await appliedMap(db.pool));
}
