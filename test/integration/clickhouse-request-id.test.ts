// The caller's X-Request-Id in ClickHouse (issue 11, item 7): the column migration is safe when two
// processes migrate at once (18.16 has no ADD COLUMN IF NOT EXISTS), and a trace is found by the
// caller's id or by ibex's own.
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrationsDir } from '../../src/stores/migrations.js';
import { openClickHouseTraceSink, type ClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { clickhouseExec, describeWithClickHouse, makeTrace, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';

describeWithClickHouse('clickhouse: the caller\'s request id', () => {
  let db: TestClickHouseDatabase;
  let a: ClickHouseTraceSink;
  const dirs: string[] = [];

  beforeAll(async () => {
    db = testClickHouseDatabase('reqid');
    a = await openClickHouseTraceSink(db.url);
  });

  afterAll(async () => {
    await a?.close();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('adding the column again (a second process migrating at once) is not an error', async () => {
    expect(await a.migrate()).toEqual(['0001_traces', '0002_client_request_id', '0003_usage_cost', '0005_served_model_attempts', '0006_policy_decisions']);
    // What the slower of two processes does after the faster one added the column: run the same
    // ALTER once more. A copy of the shipped file under a later name makes that deterministic.
    const dir = mkdtempSync(join(tmpdir(), 'ibex-ch-mig-'));
    dirs.push(dir);
    for (const f of readdirSync(migrationsDir('clickhouse'))) copyFileSync(join(migrationsDir('clickhouse'), f), join(dir, f));
    copyFileSync(join(dir, '0002_client_request_id.sql'), join(dir, '0098_client_request_id_again.sql'));
    copyFileSync(join(dir, '0003_usage_cost.sql'), join(dir, '0099_usage_cost_again.sql'));
    const b = await openClickHouseTraceSink(db.url, { migrationsDir: dir });
    try {
      expect(await b.migrate()).toEqual(['0098_client_request_id_again', '0099_usage_cost_again']);
    } finally {
      await b.close();
    }
    const cols = await clickhouseExec(
      `SELECT name FROM system.columns WHERE database = '${db.name}' AND table = 'traces' AND name = 'client_request_id'`,
    );
    expect(cols.trim()).toBe('client_request_id');
  });

  it("finds a trace by the caller's X-Request-Id or ibex's own id, and round-trips it", async () => {
    const t0 = Date.now() - 5_000;
    const quoted = "caller'id\\x";
    const x = makeTrace({ requestId: 'own-1', clientRequestId: quoted, startedAt: t0 + 1 });
    const y = makeTrace({ requestId: 'own-2', clientRequestId: quoted, startedAt: t0 + 2 });
    const z = makeTrace({ requestId: 'own-3', clientRequestId: null, startedAt: t0 + 3 });
    await a.write([x, y, z]);
    expect(await a.list({ requestId: quoted })).toEqual([y, x]);
    expect(await a.list({ requestId: 'own-3' })).toEqual([z]);
    expect(await a.list({ requestId: 'own-1' })).toEqual([x]);
    expect(await a.list({ requestId: 'nobody' })).toEqual([]);
  });
});
