// One better-sqlite3 connection with the settings every ibex process shares. Several processes use
// the same file at once (`ibex serve` plus CLI commands, or 20 `ibex directive set` in a row), so:
// WAL (readers never block the writer), busy_timeout (wait for the lock instead of failing) and
// every write in a BEGIN IMMEDIATE transaction (take the write lock first, so a read-then-write can
// never fail with SQLITE_BUSY_SNAPSHOT midway or lose an update).
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ParamEncode, RowDecode } from '../sql/decode.js';

const BUSY_TIMEOUT_MS = 10_000;

export type Params = unknown[];

export class SqliteDb {
  readonly raw: Database.Database;
  readonly path: string;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    const inMemory = path === ':memory:';
    this.path = inMemory ? path : resolve(path);
    const existed = inMemory || existsSync(this.path);
    if (!inMemory) mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.raw = new Database(this.path);
    // busy_timeout first: switching to WAL itself needs a lock another process may hold.
    this.raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.raw.pragma('journal_mode = WAL');
    this.raw.pragma('synchronous = NORMAL');
    this.raw.pragma('foreign_keys = ON');
    // Token hashes and conversations live here: keep the file private to its owner.
    if (!existed) chmodSync(this.path, 0o600);
  }

  /**
   * The prepared statement for `sql`, prepared on first use and kept. Lazy because opening must
   * work before `migrate()` created the tables the statements name.
   */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get<T>(sql: string, ...params: Params): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: Params): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: Params): Database.RunResult {
    return this.stmt(sql).run(...params);
  }

  /** Wraps `fn` so each call runs in its own BEGIN IMMEDIATE transaction (made once, call many). */
  writer<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const tx = this.raw.transaction(fn);
    return (...args: A) => tx.immediate(...args);
  }

  close(): void {
    this.statements.clear();
    if (this.raw.open) this.raw.close();
  }
}

/** better-sqlite3 errors carry SQLite's extended code, e.g. SQLITE_CONSTRAINT_UNIQUE. */
export function sqliteCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export const bool = (v: number | null | undefined): boolean => v === 1;

/** SQLite's side of the shared row mappers in src/stores/sql: JSON is TEXT, booleans are 0/1. */
export const sqliteDecode: RowDecode<string, number> = { json: (v) => JSON.parse(v) as unknown, bool };
export const sqliteEncode: ParamEncode = { bool: (v) => (v ? 1 : 0) };
