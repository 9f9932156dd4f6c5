// What the relational contract suites need from an adapter under test. The same suites run against
// SQLite and Postgres (test/integration/{sqlite,postgres}-stores.test.ts) so the adapters cannot drift.
// Suites never assume an empty database: every test makes its own uniquely named agents, sessions
// and requests, so a Postgres database can be shared by all tests of a file.
import { randomBytes } from 'node:crypto';
import type { RelationalStores } from '../../src/stores/relational.js';

export interface RelationalHarness {
  /** Stores on a migrated database */
  stores: RelationalStores;
  /** Runs raw SQL on the same database, bypassing the adapter (for schema-level guarantees) */
  exec(sql: string): Promise<void>;
  /** Runs a raw SELECT on the same database and returns its rows (numbers as numbers) */
  query(sql: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export type OpenRelational = () => Promise<RelationalHarness>;

export function uid(label: string): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves to the rejection of `p` (failing if it resolved), for checking the error's class. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
