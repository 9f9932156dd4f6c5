// Issue 15: the storage of a 50-turn session before and after the ledger (bench/BENCHMARKS.md has
// the numbers), and export streaming a large set with bounded memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measurePostgres, measureSqlite } from '../../src/bench/ledger-storage.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { CheckpointInput } from '../../src/stores/ports.js';
import { describeWithPostgres, POSTGRES_ADMIN_URL } from '../helpers/postgres.js';

describe('ledger storage (sqlite)', () => {
  it('a 50-turn session stores new content, not the history 50 times (dbstat bytes)', async () => {
    const r = await measureSqlite(50);
    // Before: every checkpoint carries the history, ~ the sum of all histories; after: several times less.
    expect(r.beforeBytes).toBeGreaterThan(r.historyBytes * 0.9);
    expect(r.afterBytes * 5).toBeLessThan(r.beforeBytes);
  }, 60_000);

  it('export streams a large set page by page: heap stays far below the data exported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-export-'));
    const stores = await openSqliteStores(join(dir, 'ibex.db'));
    try {
      await stores.migrate();
      const big = 'x'.repeat(50_000);
      const t0 = Date.now();
      for (let b = 0; b < 20; b++) {
        const batch: CheckpointInput[] = Array.from({ length: 100 }, (_, i) => {
          const n = b * 100 + i;
          return {
            sessionId: `ses_export_${n % 50}`, agent: 'exp', patId: 'p', requestId: `req-${n}`, clientRequestId: null, model: 'm', directiveVersion: null,
            messages: [{ role: 'user', content: `${n} ${big}` }], reply: 'r', finishReason: 'stop', usage: null, costUsd: null, status: 'ok', errorCode: null,
            stream: false, createdAt: t0 + n,
          };
        });
        await stores.sessions.appendCheckpoints(batch);
      }
      global.gc?.();
      const base = process.memoryUsage().heapUsed;
      let peak = 0;
      let bytes = 0;
      let n = 0;
      for await (const c of stores.sessions.exportCheckpoints({ agent: 'exp', pageSize: 100 })) {
        // Counted without making a copy: a 50 KB string per row would be garbage the heap reading sees.
        bytes += (c.messages[0] as { content: string }).content.length;
        if (++n % 50 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
      expect(n).toBe(2000);
      expect(bytes).toBeGreaterThan(100_000_000); // 2,000 × 50 KB
      // one page is ~5 MB of text (10 MB as UTF-16); the whole set would be > 200 MB of heap
      console.log(`export peak heap ${(peak / 1e6).toFixed(1)} MB`);
      expect(peak).toBeLessThan(60_000_000);
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describeWithPostgres('ledger storage (postgres)', () => {
  it('a 50-turn session stores new content, not the history 50 times (pg_total_relation_size)', async () => {
    const r = await measurePostgres(POSTGRES_ADMIN_URL, 50);
    expect(r.afterBytes * 2).toBeLessThan(r.beforeBytes);
  }, 60_000);
});
