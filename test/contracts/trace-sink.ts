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
        bytesIn: 321,
        bytesOut: 654,
        directiveVersion: 2,
        servedModel: 'gpt-test-2025',
        attempts: [],
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
