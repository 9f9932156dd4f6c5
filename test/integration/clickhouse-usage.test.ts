// `ibex usage` over ClickHouse: the cost columns (migration 0003) round-trip, and totals equal the sum
// of the traces even when a batch was written twice (an emitter replay ReplacingMergeTree has not
// merged yet must not count twice).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openClickHouseTraceSink, type ClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import { describeWithClickHouse, makeTrace, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';

describeWithClickHouse('clickhouse: usage and cost', () => {
  let db: TestClickHouseDatabase;
  let sink: ClickHouseTraceSink;

  beforeAll(async () => {
    db = testClickHouseDatabase('usage');
    sink = await openClickHouseTraceSink(db.url);
    await sink.migrate();
  });

  afterAll(async () => {
    await sink?.close();
    await db?.drop();
  });

  it('round-trips cost, cached and reasoning tokens; unknown cost stays null', async () => {
    const priced = makeTrace({ agent: 'rt', costUsd: 0.000123, cachedTokens: 7, reasoningTokens: 3 });
    const unpriced = makeTrace({ agent: 'rt', startedAt: priced.startedAt + 1, costUsd: null, cachedTokens: null });
    await sink.write([priced, unpriced]);
    const back = await sink.list({ agent: 'rt' });
    expect(back).toEqual([unpriced, priced]);
  });

  it('totals per group equal the sum of the traces, replays counted once', async () => {
    const base = Date.UTC(2040, 5, 1, 12);
    const batch = [
      makeTrace({ agent: 'u-a', model: 'gpt-4o-mini', startedAt: base, costUsd: 0.5, promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4 }),
      makeTrace({ agent: 'u-a', model: 'gpt-4o', startedAt: base + 1, costUsd: 0.25, promptTokens: 20, completionTokens: 5, totalTokens: 25, cachedTokens: null }),
      makeTrace({ agent: 'u-b', model: 'mystery', startedAt: base + 86_400_000, costUsd: null, promptTokens: 1, completionTokens: 1, totalTokens: 2, cachedTokens: null }),
      makeTrace({ agent: null, model: null, status: 401, startedAt: base + 2, costUsd: null, promptTokens: null, completionTokens: null, totalTokens: null, cachedTokens: null }),
    ];
    await sink.write(batch);
    await sink.write(batch.slice(0, 2)); // the emitter replayed a batch whose ack was lost
    const q = { since: base, until: base + 2 * 86_400_000 };
    const byAgent = await sink.usage({ by: 'agent', ...q });
    expect(byAgent).toEqual([
      { key: 'u-a', requests: 2, promptTokens: 30, completionTokens: 10, totalTokens: 40, cachedTokens: 4, reasoningTokens: 0, costUsd: 0.75, unpricedRequests: 0 },
      { key: 'u-b', requests: 1, promptTokens: 1, completionTokens: 1, totalTokens: 2, cachedTokens: 0, reasoningTokens: 0, costUsd: 0, unpricedRequests: 1 },
      { key: null, requests: 1, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: 0, reasoningTokens: 0, costUsd: 0, unpricedRequests: 0 },
    ]);
    const byDay = await sink.usage({ by: 'day', ...q });
    expect(byDay.map((r) => [r.key, r.requests, r.totalTokens])).toEqual([
      ['2040-06-01', 3, 40],
      ['2040-06-02', 1, 2],
    ]);
    const models = await sink.usage({ by: 'model', ...q, agent: 'u-a' });
    expect(models.map((r) => [r.key, r.costUsd])).toEqual([
      ['gpt-4o-mini', 0.5],
      ['gpt-4o', 0.25],
    ]);
  });
});
