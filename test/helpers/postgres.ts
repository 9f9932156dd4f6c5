// PostgreSQL for tests: whether it answers, and a fresh database per test file (created through the
// `postgres` maintenance database, dropped at the end) so concurrent runs never share state.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** Where the maintenance database is; tests create their own databases next to it. */
export const POSTGRES_ADMIN_URL = process.env.IBEX_TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, url = POSTGRES_ADMIN_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 15_000 });
  client.on('error', () => {}); // a dropped admin connection must not crash the test run
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** null when Postgres answers `SELECT 1`, else why not. */
export async function probePostgres(url = POSTGRES_ADMIN_URL): Promise<string | null> {
  try {
    await withAdmin((c) => c.query('SELECT 1'), url);
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  }
}

const unreachable = await probePostgres();

/**
 * `describe` that runs only when Postgres answers. Without it: with CI=true the suite FAILS (a
 * missing service must not pass silently in CI); otherwise it is skipped with the reason.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  const where = redact(POSTGRES_ADMIN_URL);
  if (unreachable === null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs PostgreSQL', () => {
        throw new Error(`PostgreSQL not reachable at ${where} (${unreachable}); CI=true requires it`);
      });
    });
  } else {
    console.warn(`[tests] skipping "${name}": PostgreSQL not reachable at ${where} (${unreachable}); set CI=true to make this fail`);
    describe.skip(`${name} [SKIPPED: PostgreSQL not reachable at ${where}: ${unreachable}; set CI=true to make this fail]`, body);
  }
}

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database, same server and user as the admin URL */
  url: string;
  /** Drops it (terminating any connection left open) */
  drop(): Promise<void>;
}

/** Creates `ibex_test_<task>_<random>`; call `drop()` in afterAll. */
export async function createTestDatabase(task: string): Promise<TestDatabase> {
  const name = `ibex_test_${task.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${randomBytes(5).toString('hex')}`.slice(0, 63);
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

function redact(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}
