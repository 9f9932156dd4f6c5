import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Trace } from '../../src/stores/ports.js';
import { uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

export function traceSinkContract(name: string, open: OpenRelational): void {
  describe(`${name}: TraceSink`, () => {
    let h: RelationalHarness;
    let agent: string;
    let t0: number;
    beforeEach(async () => {
      h = await open();
      agent = uid('agent');
      t0 = Date.now();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    function trace(n: number, extra: Partial<Trace> = {}): Trace {
      return {
        requestId: uid(`req-${n}`),
        clientRequestId: null,
        sessionId: null,
        agent,
        patId: 'pat_1',
        model: 'gpt-test',
        provider: 'openai',
        stream: false,
        status: 200,
        errorCode: null,
        startedAt: t0 + n,
        totalMs: 52.125 + n,
        upstreamTtfbMs: 40.5,
        upstreamMs: 50.25,
        overheadMs: 1.875,
        stages: { auth: 0.125, 'rate-limit': 0.05, inject: 0.5 },
        promptTokens: 12,
        completionTokens: 3,
        totalTokens: 15,
        cachedTokens: 4,
        reasoningTokens: null,
        costUsd: 0.0000123,
        bytesIn: 321,
        bytesOut: 654,
        directiveVersion: 2,
        servedModel: 'gpt-test-2025',
        attempts: [],
        policyDecisions: null,
        cacheStatus: null,
        ...extra,
      };
    }

    it('keeps the served model and the failed fallback attempts', async () => {
      const attempts = [{ provider: 'primary', model: 'gpt-4o', error: 'upstream_error' }];
      const a = trace(1, { provider: 'backup', servedModel: 'gpt-4o-mini', attempts });
      await h.stores.traces.write([a]);
      const [back] = await h.stores.traces.list({ agent });
      expect([back!.provider, back!.servedModel, back!.attempts]).toEqual(['backup', 'gpt-4o-mini', attempts]);
    });

    it('keeps what the policies did and the cache status (issue 17)', async () => {
      const policyDecisions = [
        { policy: 'deny-patterns', phase: 'request' as const, action: 'reject' as const, detail: 'matched pattern #1' },
        { policy: './policies/odd.mjs', phase: 'response' as const, action: 'modify' as const, detail: 'nul \u0000 and lone \ud800 in a reason' },
      ];
      await h.stores.traces.write([trace(1, { policyDecisions, cacheStatus: 'hit' }), trace(2, { cacheStatus: 'miss' })]);
      const [b, a] = await h.stores.traces.list({ agent });
      // text a store refuses (NUL, a lone surrogate) is kept as U+FFFD (store-text.ts)
      expect(a!.policyDecisions).toEqual([policyDecisions[0], { ...policyDecisions[1], detail: 'nul \ufffd and lone \ufffd in a reason' }]);
      expect([a!.cacheStatus, b!.policyDecisions, b!.cacheStatus]).toEqual(['hit', null, 'miss']);
    });

    it('writes a batch and reads every field back', async () => {
      const a = trace(1, { clientRequestId: 'caller-req-1' });
      const b = trace(2, {
        sessionId: uid('sess'),
        stream: true,
        status: 502,
        errorCode: 'upstream_error',
        model: null,
        provider: null,
        patId: null,
        upstreamTtfbMs: null,
        upstreamMs: null,
        stages: {},
        promptTokens: null,
        completionTokens: null,
        totalTokens: null,
        directiveVersion: null,
        servedModel: null,
      });
      await h.stores.traces.write([a, b]);
      expect(await h.stores.traces.list({ agent })).toEqual([b, a]);
    });

    it('usage: totals per agent, PAT, model, provider and UTC day equal the sum of the traces', async () => {
      // A time range of its own (in 2040, randomised), so other tests' traces are not in it.
      const base = Date.UTC(2040, 0, 1) + Math.floor(Math.random() * 1000) * 7 * 86_400_000;
      const other = uid('agent');
      const batch = [
        trace(1, { startedAt: base + 1000, costUsd: 0.25, cachedTokens: 2, reasoningTokens: 1 }),
        trace(2, { startedAt: base + 2000, costUsd: 0.5, model: 'gpt-other', patId: 'pat_2' }),
        trace(3, { startedAt: base + 86_400_000 + 5, costUsd: null, provider: 'backup' }), // unpriced
        trace(4, { startedAt: base + 86_400_000 + 6, agent: other, costUsd: 1.125, promptTokens: 100, completionTokens: 50, totalTokens: 150 }),
        trace(5, { startedAt: base + 3000, status: 401, agent: null, patId: null, model: null, costUsd: null, promptTokens: null, completionTokens: null, totalTokens: null, cachedTokens: null }),
        trace(6, { startedAt: base - 1, costUsd: 100 }), // before the range
      ];
      await h.stores.traces.write(batch);
      const inRange = batch.slice(0, 5);
      const sum = (f: (t: Trace) => number | null) => inRange.reduce((a, t) => a + (f(t) ?? 0), 0);
      const q = { since: base, until: base + 7 * 86_400_000 };
      for (const by of ['agent', 'pat', 'model', 'provider', 'day'] as const) {
        const rows = await h.stores.traces.usage({ by, ...q });
        const total = (k: 'requests' | 'promptTokens' | 'completionTokens' | 'totalTokens' | 'cachedTokens' | 'reasoningTokens' | 'costUsd' | 'unpricedRequests') =>
          rows.reduce((a, r) => a + r[k], 0);
        expect(total('requests'), by).toBe(5);
        expect(total('promptTokens'), by).toBe(sum((t) => t.promptTokens));
        expect(total('completionTokens'), by).toBe(sum((t) => t.completionTokens));
        expect(total('totalTokens'), by).toBe(sum((t) => t.totalTokens));
        expect(total('cachedTokens'), by).toBe(sum((t) => t.cachedTokens));
        expect(total('reasoningTokens'), by).toBe(sum((t) => t.reasoningTokens));
        expect(total('costUsd'), by).toBeCloseTo(1.875, 9);
        expect(total('unpricedRequests'), by).toBe(1);
      }
      const byAgent = await h.stores.traces.usage({ by: 'agent', ...q });
      expect(byAgent[0]).toMatchObject({ key: other, requests: 1, totalTokens: 150, costUsd: 1.125 }); // largest cost first
      expect(byAgent.find((r) => r.key === agent)).toMatchObject({ requests: 3, costUsd: 0.75, unpricedRequests: 1 });
      expect(byAgent.find((r) => r.key === null)).toMatchObject({ requests: 1, totalTokens: 0, costUsd: 0 });
      const byDay = await h.stores.traces.usage({ by: 'day', ...q });
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      expect(byDay.map((r) => [r.key, r.requests]).sort()).toEqual([
        [day(base), 3],
        [day(base + 86_400_000), 2],
      ]);
      expect(await h.stores.traces.usage({ by: 'model', ...q, agent })).toEqual(
        expect.arrayContaining([expect.objectContaining({ key: 'gpt-other', requests: 1, costUsd: 0.5 })]),
      );
      const byPat = await h.stores.traces.usage({ by: 'pat', ...q, agent });
      expect(byPat.map((r) => [r.key, r.requests]).sort()).toEqual([
        ['pat_1', 2],
        ['pat_2', 1],
      ]);
      const byProvider = await h.stores.traces.usage({ by: 'provider', since: base + 86_400_000, until: q.until });
      expect(byProvider.map((r) => [r.key, r.requests]).sort()).toEqual([
        ['backup', 1],
        ['openai', 1],
      ]);
    });

    it('filters by agent and session, most recent first, limited (default 50)', async () => {
      const session = uid('sess');
      const other = uid('agent');
      const batch = [
        trace(1, { sessionId: session }),
        trace(2),
        trace(3, { sessionId: session }),
        trace(4, { agent: other, sessionId: session }),
      ];
      await h.stores.traces.write(batch);
      expect((await h.stores.traces.list({ agent })).map((t) => t.requestId)).toEqual(
        [batch[2], batch[1], batch[0]].map((t) => t!.requestId),
      );
      expect((await h.stores.traces.list({ sessionId: session })).map((t) => t.requestId)).toEqual(
        [batch[3], batch[2], batch[0]].map((t) => t!.requestId),
      );
      expect((await h.stores.traces.list({ agent, sessionId: session })).map((t) => t.requestId)).toEqual(
        [batch[2], batch[0]].map((t) => t!.requestId),
      );
      expect(await h.stores.traces.list({ agent, limit: 1 })).toHaveLength(1);
      expect(await h.stores.traces.list({ agent: uid('nobody') })).toEqual([]);

      await h.stores.traces.write(Array.from({ length: 55 }, (_, i) => trace(10 + i)));
      expect(await h.stores.traces.list({ agent })).toHaveLength(50);
      const recent = await h.stores.traces.list({ limit: 3 });
      expect(recent).toHaveLength(3);
      expect(recent[0]!.startedAt).toBeGreaterThanOrEqual(recent[2]!.startedAt);
    });

    it('is idempotent per requestId: a resent trace is not duplicated nor overwritten', async () => {
      const a = trace(1);
      await h.stores.traces.write([a]);
      await h.stores.traces.write([{ ...a, status: 500 }, trace(2)]);
      const listed = await h.stores.traces.list({ agent });
      expect(listed).toHaveLength(2);
      expect(listed.find((t) => t.requestId === a.requestId)?.status).toBe(200);
      await h.stores.traces.write([]);
    });

    it('a caller reusing a request id (a new start time) is a new trace, not a replay', async () => {
      const a = trace(10);
      await h.stores.traces.write([a]);
      await h.stores.traces.write([{ ...a, startedAt: a.startedAt + 7 }, { ...a, startedAt: a.startedAt + 7 }]);
      const listed = (await h.stores.traces.list({ agent })).filter((t) => t.requestId === a.requestId);
      expect(listed.map((t) => t.startedAt).sort()).toEqual([a.startedAt, a.startedAt + 7]);
    });

    it("finds a trace by the caller's X-Request-Id or by ibex's own id", async () => {
      const callerId = uid('caller');
      const a = trace(1, { clientRequestId: callerId });
      const b = trace(2, { clientRequestId: callerId }); // a caller reusing its id: both are found
      const c = trace(3, { clientRequestId: uid('caller') });
      const d = trace(4);
      await h.stores.traces.write([a, b, c, d]);
      expect((await h.stores.traces.list({ requestId: callerId })).map((t) => t.requestId)).toEqual([b.requestId, a.requestId]);
      expect(await h.stores.traces.list({ requestId: d.requestId })).toEqual([d]);
      expect((await h.stores.traces.list({ requestId: c.requestId })).map((t) => t.clientRequestId)).toEqual([c.clientRequestId]);
      expect(await h.stores.traces.list({ requestId: callerId, agent: uid('nobody') })).toEqual([]);
      expect(await h.stores.traces.list({ requestId: uid('unknown') })).toEqual([]);
    });
  });
}
