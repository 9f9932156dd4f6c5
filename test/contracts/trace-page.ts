// TraceFilter's pagination and admin filters (issue 16): `before` (keyset on startedAt, requestId),
// `status` (a code or the ok/error class) and `since`. Run against every trace store: SQLite and
// Postgres (relational suites) and ClickHouse, so `ibex traces list --url` and the admin API read
// the same pages whichever store holds the traces.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Trace, TraceSink } from '../../src/stores/ports.js';
import { makeTrace } from '../helpers/traces.js';

export type OpenTraceSink = () => Promise<{ sink: TraceSink; cleanup(): Promise<void> }>;

export function tracePageContract(name: string, open: OpenTraceSink): void {
  describe(`${name}: TraceSink pages and filters`, () => {
    let sink: TraceSink;
    let cleanup: () => Promise<void>;
    let agent: string;
    let t0: number;
    beforeEach(async () => {
      ({ sink, cleanup } = await open());
      agent = `agent-${randomBytes(5).toString('hex')}`;
      t0 = Date.now() - 60_000;
    });
    afterEach(async () => {
      await cleanup();
    });

    const trace = (over: Partial<Trace>): Trace => makeTrace({ agent, sessionId: null, ...over });

    it('walks 120 traces page by page with `before`: every one once, in list order, ties on startedAt included', async () => {
      // Three traces per millisecond: the request id breaks the ties, so none is skipped or repeated.
      const all = Array.from({ length: 120 }, (_, i) => trace({ startedAt: t0 + Math.floor(i / 3), requestId: `req-${i.toString().padStart(3, '0')}-${randomBytes(3).toString('hex')}` }));
      await sink.write(all);
      const seen: Trace[] = [];
      let before: { startedAt: number; requestId: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const rows = await sink.list({ agent, limit: 25, before });
        seen.push(...rows);
        if (rows.length < 25) break;
        const last = rows[rows.length - 1]!;
        before = { startedAt: last.startedAt, requestId: last.requestId };
      }
      const expected = [...all].sort((a, b) => b.startedAt - a.startedAt || (a.requestId < b.requestId ? 1 : -1));
      expect(seen.map((t) => t.requestId)).toEqual(expected.map((t) => t.requestId));
      expect(await sink.list({ agent, limit: 25, before: { startedAt: t0, requestId: '' } })).toEqual([]);
    });

    it('filters by status: a code, `error` (>= 400 or an error code) and `ok`', async () => {
      const ok = trace({ startedAt: t0 + 1 });
      const failed = trace({ startedAt: t0 + 2, status: 502, errorCode: 'upstream_error' });
      const cut = trace({ startedAt: t0 + 3, status: 200, errorCode: 'stream_incomplete' });
      const limited = trace({ startedAt: t0 + 4, status: 429, errorCode: 'rate_limit_exceeded' });
      await sink.write([ok, failed, cut, limited]);
      const ids = async (status: Trace['status'] | 'ok' | 'error') => (await sink.list({ agent, status })).map((t) => t.requestId);
      expect(await ids('error')).toEqual([limited.requestId, cut.requestId, failed.requestId]);
      expect(await ids('ok')).toEqual([ok.requestId]);
      expect(await ids(502)).toEqual([failed.requestId]);
      expect(await ids(200)).toEqual([cut.requestId, ok.requestId]);
      expect(await ids(404)).toEqual([]);
    });

    it('`since` keeps traces that started at or after the instant', async () => {
      const batch = [1, 2, 3, 4, 5].map((n) => trace({ startedAt: t0 + n * 1000 }));
      await sink.write(batch);
      const since = await sink.list({ agent, since: t0 + 3000 });
      expect(since.map((t) => t.startedAt)).toEqual([t0 + 5000, t0 + 4000, t0 + 3000]);
      // Combined with a page: the keyset and the window together.
      const page = await sink.list({ agent, since: t0 + 2000, before: { startedAt: t0 + 4000, requestId: batch[3]!.requestId }, limit: 10 });
      expect(page.map((t) => t.startedAt)).toEqual([t0 + 3000, t0 + 2000]);
    });
  });
}
