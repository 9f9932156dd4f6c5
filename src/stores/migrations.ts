// Migration files and the bookkeeping shared by the SQLite and Postgres runners. A migration is a
// file `NNNN_name.sql` under migrations/<engine>/; it runs once, in name order, inside a
// transaction together with the row that records it, so a failed migration leaves no trace.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { MigrationStatus } from './relational.js';

export interface Migration {
  /** file name without `.sql`, e.g. `0002_directives` */
  name: string;
  sql: string;
}

export type MigrationEngine = 'sqlite' | 'postgres' | 'clickhouse';

const FILE_RE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

/** The shipped folder of an engine's migrations (works from src/, dist/ and an installed tarball). */
export function migrationsDir(engine: MigrationEngine): string {
  return join(packageRoot(), 'migrations', engine);
}

/** Reads the folder's migrations in name order; rejects two files with the same number. */
export function loadMigrations(dir: string): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => FILE_RE.test(f))
    .sort();
  const seen = new Map<string, string>();
  for (const f of files) {
    const num = f.slice(0, 4);
    const other = seen.get(num);
    if (other) throw new Error(`migrations: ${other} and ${f} share the number ${num} in ${dir}`);
    seen.set(num, f);
  }
  return files.map((f) => ({ name: f.replace(/\.sql$/, ''), sql: readFileSync(join(dir, f), 'utf8') }));
}

/** Migrations not yet in `applied`, in order. */
export function pendingMigrations(all: Migration[], applied: ReadonlyMap<string, number>): Migration[] {
  return all.filter((m) => !applied.has(m.name));
}

/** Status rows for every file, plus applied names no longer shipped (a newer version ran here). */
export function migrationStatusOf(all: Migration[], applied: ReadonlyMap<string, number>): MigrationStatus[] {
  const rows: MigrationStatus[] = all.map((m) => ({
    name: m.name,
    applied: applied.has(m.name),
    appliedAt: applied.get(m.name) ?? null,
  }));
  for (const [name, at] of applied) {
    if (!all.some((m) => m.name === name)) rows.push({ name, applied: true, appliedAt: at });
  }
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Lazily loads an engine's migrations once (opening a store must not need the files). */
export function migrationSource(engine: MigrationEngine, dir?: string): () => Migration[] {
  let cached: Migration[] | undefined;
  return () => (cached ??= loadMigrations(dir ?? migrationsDir(engine)));
}
