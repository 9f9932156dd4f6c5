import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointFields, CheckpointInput } from '../../src/stores/ports.js';
import { uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

export function sessionStoreContract(name: string, open: OpenRelational): void {
  describe(`${name}: SessionStore`, () => {
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

    function cp(sessionId: string, n: number, extra: Partial<CheckpointFields> & { messages?: unknown[] } = {}): CheckpointInput {
      return {
        sessionId,
        agent,
        patId: 'pat_1',
        requestId: uid(`req-${n}`),
        clientRequestId: null,
        model: 'gpt-test',
        directiveVersion: 1,
        messages: [{ role: 'user', content: `turn ${n}` }],
        reply: `reply ${n}`,
        finishReason: 'stop',
        usage: { promptTokens: 10 * n, completionTokens: n, totalTokens: 11 * n },
        costUsd: n / 1000,
        status: 'ok',
        errorCode: null,
        stream: false,
        createdAt: t0 + n,
        provider: 'openai',
        servedModel: 'gpt-test',
        ...extra,
      };
    }

    it('keeps the served provider, model and the failed fallback attempts of a turn', async () => {
      const s = uid('sess');
      const attempts = [
        { provider: 'primary', model: 'gpt-4o', error: 'upstream_timeout' },
        { provider: 'backup', model: 'gpt-4o', error: 'upstream_rate_limited' },
      ];
      await h.stores.sessions.appendCheckpoints([cp(s, 1, { provider: 'claude', servedModel: 'claude-sonnet-4-5', attempts }), cp(s, 2, { provider: undefined, servedModel: undefined })]);
      const [a, b] = await h.stores.sessions.checkpoints(s);
      expect([a!.provider, a!.servedModel, a!.attempts]).toEqual(['claude', 'claude-sonnet-4-5', attempts]);
      // Not stored → absent (a checkpoint reads back as it was written).
      expect([b!.provider, b!.servedModel, b!.attempts]).toEqual([undefined, undefined, undefined]);
    });

    it('keeps what the policies did and the cache status of a turn (issue 17); exports them too', async () => {
      const s = uid('sess');
      const policyDecisions = [
        { policy: 'pii-redact', phase: 'request' as const, action: 'modify' as const, detail: 'redacted 1 email' },
        { policy: 'pii-redact', phase: 'stream' as const, action: 'replace' as const, detail: 'redacted 1 card (×2)' },
      ];
      await h.stores.sessions.appendCheckpoints([cp(s, 1, { policyDecisions, cacheStatus: 'hit' }), cp(s, 2, { policyDecisions: null, cacheStatus: null })]);
      const [a, b] = await h.stores.sessions.checkpoints(s);
      expect([a!.policyDecisions, a!.cacheStatus]).toEqual([policyDecisions, 'hit']);
      // None → absent, as written before the columns existed.
      expect([b!.policyDecisions, b!.cacheStatus]).toEqual([undefined, undefined]);
      const exported = [];
      for await (const c of h.stores.sessions.exportCheckpoints({ agent })) exported.push(c);
      expect(exported.find((c) => c.requestId === a!.requestId)).toMatchObject({ policyDecisions, cacheStatus: 'hit' });
    });

    it('writes a batch across two sessions: seq per session in batch order, totals summed', async () => {
      const s1 = uid('sess');
      const s2 = uid('sess');
      const batch = [cp(s1, 1), cp(s2, 2, { patId: 'pat_2' }), cp(s1, 3), cp(s1, 4), cp(s2, 5)];
      await h.stores.sessions.appendCheckpoints(batch);

      const c1 = await h.stores.sessions.checkpoints(s1);
      expect(c1.map((c) => [c.seq, c.requestId])).toEqual([
        [1, batch[0]!.requestId],
        [2, batch[2]!.requestId],
        [3, batch[3]!.requestId],
      ]);
      const c2 = await h.stores.sessions.checkpoints(s2);
      expect(c2.map((c) => [c.seq, c.requestId])).toEqual([
        [1, batch[1]!.requestId],
        [2, batch[4]!.requestId],
      ]);

      expect(await h.stores.sessions.getSession(s1)).toEqual({
        id: s1,
        agent,
        patId: 'pat_1',
        createdAt: t0 + 1,
        updatedAt: t0 + 4,
        turns: 3,
        promptTokens: 80,
        completionTokens: 8,
        totalTokens: 88,
        costUsd: expect.closeTo(0.008, 12),
        status: expect.any(String),
      });
      expect(await h.stores.sessions.getSession(s2)).toMatchObject({ patId: 'pat_2', turns: 2, totalTokens: 77 });
    });

    it('is idempotent per requestId: replaying a batch changes nothing, new ones continue the seq', async () => {
      const s = uid('sess');
      const first = [cp(s, 1), cp(s, 2)];
      await h.stores.sessions.appendCheckpoints(first);
      await h.stores.sessions.appendCheckpoints(first);
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ turns: 2, totalTokens: 33 });

      const third = cp(s, 3);
      await h.stores.sessions.appendCheckpoints([first[1]!, third, third]);
      const cps = await h.stores.sessions.checkpoints(s);
      expect(cps.map((c) => c.requestId)).toEqual([first[0]!.requestId, first[1]!.requestId, third.requestId]);
      expect(cps.map((c) => c.seq)).toEqual([1, 2, 3]);
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ turns: 3, totalTokens: 66, updatedAt: t0 + 3 });
    });

    it('a caller reusing a request id (a new start time) is a new checkpoint, not a replay', async () => {
      const s = uid('sess');
      const a = cp(s, 1);
      const again = { ...a, createdAt: a.createdAt + 5 };
      await h.stores.sessions.appendCheckpoints([a]);
      await h.stores.sessions.appendCheckpoints([again, again]);
      const cps = await h.stores.sessions.checkpoints(s);
      expect(cps.map((c) => c.requestId)).toEqual([a.requestId, a.requestId]);
      expect(cps.map((c) => c.seq)).toEqual([1, 2]);
    });

    it('round-trips checkpoint content exactly', async () => {
      const s = uid('sess');
      const messages = [
        { role: 'system', content: 'directive v7' },
        { role: 'user', content: [{ type: 'text', text: 'héllo "quoted" \\ 🐐' }], name: null },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      ];
      const ok = cp(s, 1, {
        messages,
        directiveVersion: 7,
        stream: true,
        reply: 'line1\nline2',
        finishReason: 'length',
        clientRequestId: 'caller-trace-42',
        usage: { promptTokens: 10, completionTokens: 1, totalTokens: 11, cachedTokens: 4, reasoningTokens: 0 },
      });
      const failed = cp(s, 2, {
        model: null,
        directiveVersion: null,
        reply: null,
        finishReason: null,
        usage: null,
        costUsd: null,
        status: 'upstream_error',
        errorCode: 'upstream_timeout',
      });
      await h.stores.sessions.appendCheckpoints([ok, failed]);
      const [a, b] = await h.stores.sessions.checkpoints(s);
      expect(a).toEqual({ ...ok, seq: 1 });
      expect(b).toEqual({ ...failed, seq: 2 });
      // a checkpoint without usage adds nothing to the totals
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ turns: 2, promptTokens: 10, totalTokens: 11 });
    });

    it('a session totals the known costs of its turns; null while none had a price', async () => {
      const s = uid('sess');
      await h.stores.sessions.appendCheckpoints([cp(s, 1, { costUsd: null })]);
      expect((await h.stores.sessions.getSession(s))!.costUsd).toBeNull();
      const later = [cp(s, 2, { costUsd: 0.25 }), cp(s, 3, { costUsd: null }), cp(s, 4, { costUsd: 0.5 })];
      await h.stores.sessions.appendCheckpoints(later);
      expect((await h.stores.sessions.getSession(s))!.costUsd).toBe(0.75);
      await h.stores.sessions.appendCheckpoints(later); // a replay adds nothing
      expect((await h.stores.sessions.getSession(s))!.costUsd).toBe(0.75);
      const [first, second] = await h.stores.sessions.checkpoints(s);
      expect(first!.costUsd).toBeNull();
      expect(second!.costUsd).toBe(0.25);
    });

    it('answers null / [] for unknown sessions and ignores an empty batch', async () => {
      await h.stores.sessions.appendCheckpoints([]);
      expect(await h.stores.sessions.getSession(uid('nope'))).toBeNull();
      expect(await h.stores.sessions.checkpoints(uid('nope'))).toEqual([]);
    });

    it('lists sessions most recently updated first, filtered by agent, limited', async () => {
      const ids = [uid('sess'), uid('sess'), uid('sess')];
      const other = uid('agent');
      // session 0 is updated last, so it comes first
      await h.stores.sessions.appendCheckpoints([cp(ids[0]!, 1), cp(ids[1]!, 2), cp(ids[2]!, 3)]);
      await h.stores.sessions.appendCheckpoints([cp(ids[0]!, 9)]);
      await h.stores.sessions.appendCheckpoints([cp(uid('sess'), 4, { agent: other })]);

      const listed = await h.stores.sessions.listSessions({ agent });
      expect(listed.map((s) => s.id)).toEqual([ids[0], ids[2], ids[1]]);
      expect(listed.every((s) => s.agent === agent)).toBe(true);
      expect((await h.stores.sessions.listSessions({ agent, limit: 2 })).map((s) => s.id)).toEqual([ids[0], ids[2]]);
      expect(await h.stores.sessions.listSessions({ agent: uid('nobody') })).toEqual([]);

      const any = await h.stores.sessions.listSessions({ limit: 2 });
      expect(any).toHaveLength(2);
      expect(any[0]!.updatedAt).toBeGreaterThanOrEqual(any[1]!.updatedAt);
    });

    it('defaults the list limit to 50', async () => {
      const batch = Array.from({ length: 55 }, (_, i) => cp(uid('sess'), i + 1));
      await h.stores.sessions.appendCheckpoints(batch);
      expect(await h.stores.sessions.listSessions({ agent })).toHaveLength(50);
    });

    it('claimSession: the first agent owns a new id, every later claim is told that owner', async () => {
      const s = uid('sess');
      const other = uid('agent');
      expect(await h.stores.sessions.claimSession(s, agent, 'pat_1', t0)).toBe(agent);
      expect(await h.stores.sessions.claimSession(s, other, 'pat_2', t0 + 1)).toBe(agent);
      expect(await h.stores.sessions.claimSession(s, agent, 'pat_1', t0 + 2)).toBe(agent);
      // A claimed session exists, owned, with no turn yet; the owner's first checkpoint is turn 1.
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ id: s, agent, patId: 'pat_1', createdAt: t0, turns: 0, totalTokens: 0 });
      expect(await h.stores.sessions.appendCheckpoints([cp(s, 1)])).toEqual({ refused: [] });
      expect((await h.stores.sessions.checkpoints(s)).map((c) => c.seq)).toEqual([1]);
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ turns: 1, totalTokens: 11 });
    });

    it('claimSession answers the agent of a session its checkpoints created', async () => {
      const s = uid('sess');
      await h.stores.sessions.appendCheckpoints([cp(s, 1)]);
      expect(await h.stores.sessions.claimSession(s, uid('agent'), 'pat_9', t0 + 9)).toBe(agent);
    });

    it('claimSession: concurrent claims of one new id agree on one owner', async () => {
      // Postgres runs these on several pooled connections at once (the race replicas have); SQLite's
      // claims are each one write transaction, so they serialise.
      for (let trial = 0; trial < 10; trial++) {
        const s = uid('sess');
        const agents = [uid('a'), uid('b'), uid('c'), uid('d')];
        const answers = await Promise.all(agents.map((a, i) => h.stores.sessions.claimSession(s, a, `pat_${i}`, t0)));
        const owner = (await h.stores.sessions.getSession(s))!.agent;
        expect(agents).toContain(owner);
        expect(answers).toEqual(agents.map(() => owner));
      }
    });

    it("never writes a checkpoint into another agent's session: it is refused and reported, the rest is written", async () => {
      const s = uid('sess');
      const intruder = uid('agent');
      await h.stores.sessions.claimSession(s, agent, 'pat_1', t0);
      const theirs = cp(s, 2, { agent: intruder, patId: 'pat_x' });
      const mine = [cp(s, 1), cp(s, 3)];
      const result = await h.stores.sessions.appendCheckpoints([mine[0]!, theirs, mine[1]!]);
      expect(result.refused).toEqual([{ sessionId: s, requestId: theirs.requestId, agent: intruder, owner: agent }]);
      const cps = await h.stores.sessions.checkpoints(s);
      expect(cps.map((c) => c.requestId)).toEqual(mine.map((c) => c.requestId));
      expect(cps.map((c) => c.seq)).toEqual([1, 2]);
      expect(await h.stores.sessions.getSession(s)).toMatchObject({ agent, turns: 2, totalTokens: 44 });

      // The same when the session was created by the owner's checkpoint rather than a claim.
      const s2 = uid('sess');
      await h.stores.sessions.appendCheckpoints([cp(s2, 1)]);
      const again = await h.stores.sessions.appendCheckpoints([cp(s2, 2, { agent: intruder })]);
      expect(again.refused.map((r) => [r.sessionId, r.owner])).toEqual([[s2, agent]]);
      expect(await h.stores.sessions.getSession(s2)).toMatchObject({ agent, turns: 1 });
    });

    it("stores the caller's X-Request-Id beside ibex's own, null when there was none", async () => {
      const s = uid('sess');
      const a = cp(s, 1, { clientRequestId: 'user-reported-id' });
      const b = cp(s, 2);
      await h.stores.sessions.appendCheckpoints([a, b]);
      const cps = await h.stores.sessions.checkpoints(s);
      expect(cps.map((c) => [c.requestId, c.clientRequestId])).toEqual([
        [a.requestId, 'user-reported-id'],
        [b.requestId, null],
      ]);
    });

    it('findResponseLink: the turn that created a reply id, else the first that continued an id; null for an unknown one', async () => {
      const s1 = uid('sess');
      const s2 = uid('sess');
      const other = uid('agent');
      const resp = uid('resp');
      const conv = uid('conv');
      const stateAt = { provider: 'oai', keyIndex: 1 };
      await h.stores.sessions.appendCheckpoints([
        cp(s1, 1, { protocol: 'openai-responses', responseId: resp, continuedId: conv, stateAt }),
        // A later turn (another session) continuing the same conversation: the first one owns it.
        { ...cp(s2, 5, { protocol: 'openai-responses', responseId: uid('resp'), continuedId: conv, stateAt: null }), agent: other },
      ]);
      expect(await h.stores.sessions.findResponseLink(resp)).toEqual({ sessionId: s1, agent, stateAt });
      expect(await h.stores.sessions.findResponseLink(conv)).toEqual({ sessionId: s1, agent, stateAt });
      expect(await h.stores.sessions.findResponseLink(uid('resp'))).toBeNull();
      // A translated turn: no state upstream, and the key index may be null (a provider with no key)
      const translated = uid('resp');
      const keyless = uid('resp');
      await h.stores.sessions.appendCheckpoints([cp(s1, 2, { responseId: translated }), cp(s1, 3, { responseId: keyless, stateAt: { provider: 'local', keyIndex: null } })]);
      expect(await h.stores.sessions.findResponseLink(translated)).toEqual({ sessionId: s1, agent, stateAt: null });
      expect((await h.stores.sessions.findResponseLink(keyless))?.stateAt).toEqual({ provider: 'local', keyIndex: null });
      // The fields read back as written; absent when not stored
      const [first, , third] = await h.stores.sessions.checkpoints(s1);
      expect([first!.responseId, first!.continuedId, first!.stateAt]).toEqual([resp, conv, stateAt]);
      expect([third!.responseId, third!.continuedId]).toEqual([keyless, undefined]);
    });

    it('findTranslatedTurn: the input (the messages after the instructions) then the output of a translated reply, and the id it continued; null for a native one', async () => {
      const s1 = uid('sess');
      const native = uid('resp');
      const first = uid('resp');
      const second = uid('resp');
      const instructions = { role: 'system', content: 'Be brief.' };
      const input = [{ type: 'message', role: 'user', content: 'weather in Paris? \u00e9\u{1F600}' }];
      const output = [{ type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }];
      const result = { type: 'function_call_output', call_id: 'c1', output: '18C' };
      await h.stores.sessions.appendCheckpoints([
        cp(s1, 1, { responseId: native, stateAt: { provider: 'oai', keyIndex: 0 } }),
        cp(s1, 2, { messages: [instructions, ...input], responseId: first, translatedTurn: { previous: null, skip: 1, output } }),
        cp(s1, 3, { messages: [result], responseId: second, translatedTurn: { previous: first, skip: 0, output: [] } }),
      ]);
      const got = await h.stores.sessions.findTranslatedTurn(first);
      expect(got).toMatchObject({ agent, previous: null, items: [...input, ...output] });
      expect(got!.bytes).toBeGreaterThan(50);
      expect(await h.stores.sessions.findTranslatedTurn(second)).toMatchObject({ agent, previous: first, items: [result] });
      expect(await h.stores.sessions.findTranslatedTurn(native)).toBeNull();
      expect(await h.stores.sessions.findTranslatedTurn(uid('resp'))).toBeNull();
    });
  });
}
