// Applies migrations/sqlite/*.sql. Each file runs in one BEGIN IMMEDIATE transaction with the row
// recording it, and the "what is applied" check happens inside that lock, so two processes migrating
// the same file at once each apply a migration at most once between them.
import type { Migration } from '../migrations.js';
import { migrationStatusOf, pendingMigrations } from '../migrations.js';
import type { MigrationStatus } from '../relational.js';
import type { SqliteDb } from './db.js';

const TABLE = 'ibex_migrations';

function ensureTable(db: SqliteDb): void {
  db.raw.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
}

function appliedMap(db: SqliteDb): Map<string, number> {
  if (!db.get(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, TABLE)) return new Map();
  const rows = db.all<{ name: string; applied_at: number }>(`SELECT name, applied_at FROM ${TABLE}`);
  return new Map(rows.map((r) => [r.name, r.applied_at]));
}

export function migrateSqlite(db: SqliteDb, all: Migration[], log: (line: string) => void): string[] {
  db.raw.transaction(() => ensureTable(db)).immediate();
  const applied: string[] = [];
  for (const m of all) {
    const ran = db.raw
      .transaction(() => {
        if (appliedMap(db).has(m.name)) return false;
        db.raw.exec(m.sql);
        db.run(`INSERT INTO ${TABLE} (name, applied_at) VALUES (?, ?)`, m.name, Date.now());
        return true;
      })
      .immediate();
    if (ran) {
      applied.push(m.name);
      log(`storage: sqlite migration applied: ${m.name}`);
    }
  }
  return applied;
}

export function sqliteMigrationStatus(db: SqliteDb, all: Migration[]): MigrationStatus[] {
  return migrationStatusOf(all, appliedMap(db));
}

export function pendingSqliteMigrations(db: SqliteDb, all: Migration[]): Migration[] {
  return pendingMigrations(all, appliedMap(db));
}
