// SQLite specifics: opening never migrates, the runner records and skips what ran, a failing
// migration leaves nothing behind, and the connection settings the multi-process design needs.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrationsDir } from '../../src/stores/migrations.js';
import { SqliteDb } from '../../src/stores/sqlite/db.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';

const SHIPPED = ['0001_identity', '0002_directives', '0003_sessions', '0004_traces', '0005_client_request_id', '0006_usage_cost', '0007_ledger', '0008_directive_deploys', '0010_served_model_attempts', '0011_policy_decisions', '0012_traces_client_request_partial', '0013_response_links'];

describe('sqlite: opening, migrations, settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-sqlite-mig-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships the sqlite migration files in order, directives and sessions in their own files', () => {
    expect(loadMigrations(migrationsDir('sqlite')).map((m) => m.name)).toEqual(SHIPPED);
  });

  it('opening does not migrate; migrate() applies each file once and reports it', async () => {
    const lines: string[] = [];
    const stores = await openSqliteStores(join(dir, 'ibex.db'), { log: (l) => lines.push(l) });
    try {
      expect((await stores.migrationStatus()).map((s) => [s.name, s.applied])).toEqual(SHIPPED.map((n) => [n, false]));
      const [check] = await stores.ready();
      expect(check).toMatchObject({ name: 'storage', ok: false });
      expect(check!.detail).toMatch(new RegExp(`${SHIPPED.length} migration\\(s\\) pending`));
      await expect(stores.agents.list()).rejects.toThrow(/no such table/);

      const before = Date.now();
      expect(await stores.migrate()).toEqual(SHIPPED);
      expect(lines).toEqual(SHIPPED.map((n) => `storage: sqlite migration applied: ${n}`));
      expect(await stores.migrate()).toEqual([]);
      const status = await stores.migrationStatus();
      expect(status.every((s) => s.applied && s.appliedAt !== null && s.appliedAt >= before)).toBe(true);
      expect(await stores.ready()).toEqual([{ name: 'storage', ok: true, detail: `sqlite ${join(dir, 'ibex.db')}` }]);
      expect(await stores.agents.list()).toEqual([]);
    } finally {
      await stores.close();
    }
  });

  it('a second process sees the migrations as applied', async () => {
    const path = join(dir, 'ibex.db');
    const first = await openSqliteStores(path);
    await first.migrate();
    await first.close();
    const second = await openSqliteStores(path);
    expect(await second.migrate()).toEqual([]);
    await second.close();
  });

  it('a failing migration is rolled back whole and not recorded; earlier ones stay', async () => {
    const migDir = join(dir, 'mig');
    mkdirSync(migDir);
    writeFileSync(join(migDir, '0001_ok.sql'), 'CREATE TABLE one (x INTEGER);');
    writeFileSync(join(migDir, '0002_bad.sql'), 'CREATE TABLE two (x INTEGER);\nINSERT INTO nowhere VALUES (1);');
    const path = join(dir, 'ibex.db');
    const stores = await openSqliteStores(path, { migrationsDir: migDir });
    try {
      await expect(stores.migrate()).rejects.toThrow(/nowhere/);
      expect((await stores.migrationStatus()).map((s) => [s.name, s.applied])).toEqual([
        ['0001_ok', true],
        ['0002_bad', false],
      ]);
      const raw = new Database(path, { readonly: true });
      const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      raw.close();
      expect(tables).toContain('one');
      expect(tables).not.toContain('two');
    } finally {
      await stores.close();
    }
  });

  it('rejects two migration files with the same number', () => {
    writeFileSync(join(dir, '0001_a.sql'), 'SELECT 1;');
    writeFileSync(join(dir, '0001_b.sql'), 'SELECT 1;');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    expect(() => loadMigrations(dir)).toThrow(/share the number 0001/);
  });

  it('creates a missing parent folder (0700) and a private db file (0600)', async () => {
    const path = join(dir, 'nested', 'home', 'ibex.db');
    const stores = await openSqliteStores(path);
    await stores.migrate();
    await stores.close();
    expect(statSync(join(dir, 'nested', 'home')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested', 'home'))).toContain('ibex.db');
  });

  it('describes itself with the absolute path', async () => {
    const stores = await openSqliteStores(join(dir, 'ibex.db'));
    expect(stores.describe()).toBe(`storage: sqlite ${join(dir, 'ibex.db')}`);
    await stores.close();
  });

  it('connections use WAL, synchronous=NORMAL, foreign keys and a busy timeout of at least 5 s', () => {
    const db = new SqliteDb(join(dir, 'ibex.db'));
    try {
      expect(db.raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.raw.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.raw.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(Number(db.raw.pragma('busy_timeout', { simple: true }))).toBeGreaterThanOrEqual(5000);
    } finally {
      db.close();
    }
  });
});
