// TraceFilter's pages and admin filters against the real ClickHouse (the contract the relational
// trace stores also pass): keyset `before`, `status` classes and `since`.
import { afterAll, beforeAll } from 'vitest';
import { openClickHouseTraceSink, type ClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { tracePageContract } from '../contracts/trace-page.js';
import { describeWithClickHouse, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';

describeWithClickHouse('clickhouse trace pages', () => {
  let db: TestClickHouseDatabase;
  let sink: ClickHouseTraceSink;
  beforeAll(async () => {
    db = testClickHouseDatabase('trace_page');
    sink = await openClickHouseTraceSink(db.url);
    await sink.migrate();
  }, 60_000);
  afterAll(async () => {
    await sink?.close();
    await db?.drop();
  });
  // One sink for the file: each test writes under its own agent.
  tracePageContract('clickhouse', async () => ({ sink, cleanup: async () => {} }));
});
