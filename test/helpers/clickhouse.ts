// ClickHouse for tests: whether it answers, and a fresh database per test file (dropped at the end)
// so concurrent runs never share state. The server is the one `.ci/clickhouse.sh` starts.
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';

/** Server root; tests put their own database in the path. */
export const CLICKHOUSE_TEST_URL = (process.env.IBEX_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123').replace(/\/+$/, '');

/** Runs one statement over the HTTP interface (no client library, so helpers cannot mask client bugs). */
export async function clickhouseExec(sql: string): Promise<string> {
  const res = await fetch(`${CLICKHOUSE_TEST_URL}/`, { method: 'POST', body: sql, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`clickhouse ${res.status}: ${text.trim()}`);
  return text;
}

/** null when ClickHouse answers /ping, else why not. */
export async function probeClickHouse(): Promise<string | null> {
  try {
    const res = await fetch(`${CLICKHOUSE_TEST_URL}/ping`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    return text.trim() === 'Ok.' ? null : `unexpected /ping answer: ${text.slice(0, 80)}`;
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return cause ?? ((err as Error).message || String(err));
  }
}

const unreachable = await probeClickHouse();

/**
 * `describe` that runs only when ClickHouse answers. Without it: with CI=true the suite FAILS (a
 * missing service must not pass silently in CI); otherwise it is skipped with the reason.
 */
export function describeWithClickHouse(name: string, body: () => void): void {
  if (unreachable === null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs ClickHouse', () => {
        throw new Error(`ClickHouse not reachable at ${CLICKHOUSE_TEST_URL} (${unreachable}); CI=true requires it (run .ci/clickhouse.sh)`);
      });
    });
  } else {
    console.warn(`[tests] skipping "${name}": ClickHouse not reachable at ${CLICKHOUSE_TEST_URL} (${unreachable}); run .ci/clickhouse.sh, or set CI=true to make this fail`);
    describe.skip(`${name} [SKIPPED: ClickHouse not reachable at ${CLICKHOUSE_TEST_URL}: ${unreachable}]`, body);
  }
}

export interface TestClickHouseDatabase {
  name: string;
  /** `http://host:8123/<name>`: the form IBEX_CLICKHOUSE_URL takes */
  url: string;
  drop(): Promise<void>;
}

/**
 * A database name `ibex_test_<task>_<random>` that does not exist yet (the sink's migrate() is
 * expected to create it); drop() removes it whether or not it was created.
 */
export function testClickHouseDatabase(task: string): TestClickHouseDatabase {
  const name = `ibex_test_${task.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${randomBytes(5).toString('hex')}`;
  return {
    name,
    url: `${CLICKHOUSE_TEST_URL}/${name}`,
    drop: () => clickhouseExec(`DROP DATABASE IF EXISTS ${name}`).then(() => undefined),
  };
}

export { makeTrace } from './traces.js';
