// The session ledger (issue 15) on every relational adapter: messages stored once under their hash,
// checkpoints as ordered references, legacy rows converted by migrate(), export by pages, retention.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint, CheckpointFields, CheckpointInput, Trace } from '../../src/stores/ports.js';
import { uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

const DAY = 86_400_000;

export function ledgerContract(name: string, open: OpenRelational): void {
  describe(`${name}: ledger`, () => {
    let h: RelationalHarness;
    let agent: string;
    let tag: string;
    let t0: number;
    beforeEach(async () => {
      h = await open();
      agent = uid('agent');
      tag = uid('t');
      t0 = Date.now();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    function cp(sessionId: string, n: number, messages: unknown[], extra: Partial<CheckpointFields> = {}): CheckpointInput {
      return {
        sessionId,
        agent,
        patId: 'pat_1',
        requestId: uid(`req-${n}`),
        clientRequestId: null,
        model: 'gpt-test',
        directiveVersion: 1,
        messages,
        reply: `reply ${n}`,
        finishReason: 'stop',
        usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
        costUsd: null,
        status: 'ok',
        errorCode: null,
        stream: false,
        createdAt: t0 + n,
        ...extra,
      };
    }

    /** A conversation of `turns` turns where each request resends the whole history. */
    function conversation(sessionId: string, turns: number, at = t0): CheckpointInput[] {
      const history: unknown[] = [{ role: 'system', content: `directive ${tag}` }];
      const out: CheckpointInput[] = [];
      for (let i = 1; i <= turns; i++) {
        history.push({ role: 'user', content: `question ${i} ${tag}` });
        out.push(cp(sessionId, i, [...history], { createdAt: at + i }));
        history.push({ role: 'assistant', content: `answer ${i} ${tag}` });
      }
      return out;
    }

    const count = async (sql: string) => Number((await h.query(sql))[0]!.n);
    const stored = () => count(`SELECT COUNT(*) AS n FROM messages WHERE body LIKE '%${tag}%'`);

    it("an agent's content mode: 'full' by default, set by setContentMode, null for an unknown agent", async () => {
      expect((await h.stores.agents.create({ name: agent })).contentMode).toBe('full');
      expect(await h.stores.agents.setContentMode(agent, 'redacted')).toMatchObject({ name: agent, contentMode: 'redacted' });
      expect((await h.stores.agents.get(agent))!.contentMode).toBe('redacted');
      expect((await h.stores.agents.list()).find((a) => a.name === agent)!.contentMode).toBe('redacted');
      expect(await h.stores.agents.setContentMode(uid('nope'), 'metadata')).toBeNull();
    });

    it("takes the recorder's message texts as the objects they came from: same rows, same read-back", async () => {
      const s1 = uid('sess');
      const s2 = uid('sess');
      const messages = [{ role: 'system', content: `directive ${tag}` }, { role: 'user', content: `q "quoted" \u00e9 ${tag}` }];
      // As the gateway's recorder sends it (texts only), and as older spooled checkpoints carry it (objects).
      const { messages: _objects, ...fields } = cp(s1, 1, messages);
      const texts: CheckpointInput = { ...fields, messageTexts: messages.map((m) => JSON.stringify(m)) };
      await h.stores.sessions.appendCheckpoints([texts, cp(s2, 2, messages)]);
      expect(await stored()).toBe(2);
      expect((await h.stores.sessions.checkpoints(s1))[0]!.messages).toEqual(messages);
      expect((await h.stores.sessions.checkpoints(s2))[0]!.messages).toEqual(messages);
    });

    it('stores each distinct message once: a 10-turn session holds 1 + 2×10 − 1 messages, not the history 10 times', async () => {
      const s = uid('sess');
      const batch = conversation(s, 10);
      await h.stores.sessions.appendCheckpoints(batch.slice(0, 4));
      await h.stores.sessions.appendCheckpoints(batch.slice(4));
      // directive + 10 questions + 9 answers (the 10th answer is only a reply)
      expect(await stored()).toBe(20);
      const read = await h.stores.sessions.checkpoints(s);
      expect(read.map((c) => c.messages)).toEqual(batch.map((c) => c.messages));
    });

    it('shares a message between sessions (the directive) and keeps order and repeats inside one checkpoint', async () => {
      const a = uid('sess');
      const b = uid('sess');
      const d = { role: 'system', content: `directive ${tag}` };
      const x = { role: 'user', content: `x ${tag}`, name: 'n' };
      const y = { content: `y ${tag}`, role: 'user' }; // key order is the caller's and is kept
      await h.stores.sessions.appendCheckpoints([cp(a, 1, [d, x, y, x]), cp(b, 2, [d, y])]);
      expect(await stored()).toBe(3);
      const [ra] = await h.stores.sessions.checkpoints(a);
      expect(ra!.messages).toEqual([d, x, y, x]);
      expect(JSON.stringify(ra!.messages[2])).toBe(JSON.stringify(y));
      const [rb] = await h.stores.sessions.checkpoints(b);
      expect(rb!.messages).toEqual([d, y]);
      expect(await count(`SELECT COUNT(*) AS n FROM message_sessions WHERE session_id IN ('${a}', '${b}')`)).toBe(5);
    });

    it('round-trips the replay fields and content modes exactly', async () => {
      const s = uid('sess');
      const full = cp(s, 1, [{ role: 'user', content: 'hi' }], {
        protocol: 'openai-chat',
        upstreamPath: '/chat/completions',
        provider: 'openai',
        servedModel: 'gpt-4o-mini-2024',
        upstreamTemplate: '{"model":"m","messages":[\u0001*0\u0001],"temperature":0}',
        replayOf: 'ses_x:3',
      });
      const meta = cp(s, 2, [], { contentMode: 'metadata', messageCount: 7, reply: null, upstreamTemplate: null });
      await h.stores.sessions.appendCheckpoints([full, meta]);
      const [a, b] = await h.stores.sessions.checkpoints(s);
      expect(a).toEqual({ ...full, seq: 1 });
      const { upstreamTemplate: _t, ...metaRest } = meta;
      expect(b).toEqual({ ...metaRest, seq: 2 });
    });

    it('migrate() converts checkpoints written before the ledger; they read back the same', async () => {
      const s = uid('sess');
      const req = uid('legacy');
      const messages = [
        { role: 'system', content: `directive ${tag}` },
        { role: 'user', content: [{ type: 'text', text: `héllo "q" \\ 🐐 ${tag}` }] },
      ];
      const json = JSON.stringify(messages).replaceAll("'", "''");
      const f = name === 'postgres' ? 'FALSE' : '0';
      await h.exec(`INSERT INTO sessions (id, agent, pat_id, created_at, updated_at, turns) VALUES ('${s}', '${agent}', 'pat_1', ${t0}, ${t0}, 1);
        INSERT INTO checkpoints (session_id, seq, request_id, agent, pat_id, model, directive_version, messages, reply, finish_reason, status, stream, created_at)
        VALUES ('${s}', 1, '${req}', '${agent}', 'pat_1', 'gpt-test', 1, '${json}', 'r', 'stop', 'ok', ${f}, ${t0})`);
      const before = await h.stores.sessions.checkpoints(s);
      expect(before[0]!.messages).toEqual(messages);
      expect(await stored()).toBe(0);

      await h.stores.migrate();
      expect(await stored()).toBe(2);
      expect(await count(`SELECT COUNT(*) AS n FROM checkpoints WHERE request_id = '${req}' AND message_refs IS NOT NULL`)).toBe(1);
      // The legacy column is emptied: what reads back now comes from the ledger.
      expect(await count(`SELECT COUNT(*) AS n FROM checkpoints WHERE request_id = '${req}' AND CAST(messages AS TEXT) = '[]'`)).toBe(1);
      expect(await h.stores.sessions.checkpoints(s)).toEqual(before);
    });

    it('exports checkpoints oldest first, page by page, filtered by agent and time', async () => {
      const other = uid('agent');
      const s1 = uid('sess');
      const s2 = uid('sess');
      const mine = conversation(s1, 5);
      await h.stores.sessions.appendCheckpoints([...mine, cp(s2, 3, [{ role: 'user', content: 'other' }], { agent: other, createdAt: t0 + 3 })]);
      const got: Checkpoint[] = [];
      for await (const c of h.stores.sessions.exportCheckpoints({ agent, pageSize: 2 })) got.push(c);
      expect(got.map((c) => c.requestId)).toEqual(mine.map((c) => c.requestId));
      expect(got.map((c) => c.messages)).toEqual(mine.map((c) => c.messages));
      const recent: string[] = [];
      for await (const c of h.stores.sessions.exportCheckpoints({ agent, since: t0 + 4, pageSize: 1 })) recent.push(c.requestId);
      expect(recent).toEqual([mine[3]!.requestId, mine[4]!.requestId]);
    });

    it('prune: a dry run only counts; a real one deletes expired sessions, their checkpoints, messages no one uses, old traces', async () => {
      const old = uid('sess');
      const live = uid('sess');
      const ancient = t0 - 1000 * DAY;
      const d = { role: 'system', content: `directive ${tag}` };
      const oldOnly = { role: 'user', content: `old only ${tag}` };
      await h.stores.sessions.appendCheckpoints([
        cp(old, 1, [d, oldOnly], { createdAt: ancient }),
        cp(old, 2, [d, oldOnly, { role: 'user', content: `old too ${tag}` }], { createdAt: ancient + 1 }),
        cp(live, 3, [d, { role: 'user', content: `live ${tag}` }]),
      ]);
      const trace = (requestId: string, startedAt: number): Trace => ({
        requestId, clientRequestId: null, sessionId: null, agent, patId: null, model: null, provider: null, stream: false,
        status: 200, errorCode: null, startedAt, totalMs: 1, upstreamTtfbMs: null, upstreamMs: null, overheadMs: 1, stages: {},
        promptTokens: null, completionTokens: null, totalTokens: null, bytesIn: 0, bytesOut: 0, directiveVersion: null,
        cachedTokens: null, reasoningTokens: null, costUsd: null,
      });
      const oldTrace = uid('tr');
      const newTrace = uid('tr');
      await h.stores.traces.write([trace(oldTrace, ancient), trace(newTrace, t0)]);
      const cutoff = { sessionsBefore: t0 - 500 * DAY, tracesBefore: t0 - 500 * DAY };

      const dry = await h.stores.sessions.prune({ ...cutoff, dryRun: true });
      expect(dry.checkpoints).toBeGreaterThanOrEqual(2);
      expect(dry.sessions).toBeGreaterThanOrEqual(1);
      expect(dry.traces).toBeGreaterThanOrEqual(1);
      expect(dry.messages).toBeGreaterThanOrEqual(2);
      expect(await h.stores.sessions.getSession(old)).not.toBeNull();
      expect(await stored()).toBe(4);

      const real = await h.stores.sessions.prune({ ...cutoff, batchSize: 1, pauseMs: 0 });
      expect(real.checkpoints).toBeGreaterThanOrEqual(2);
      expect(await h.stores.sessions.getSession(old)).toBeNull();
      expect(await h.stores.sessions.checkpoints(old)).toEqual([]);
      // The directive is still used by the live session; the old-only messages are gone.
      expect(await stored()).toBe(2);
      const [l] = await h.stores.sessions.checkpoints(live);
      expect(l!.messages).toEqual([d, { role: 'user', content: `live ${tag}` }]);
      const traces = (await h.stores.traces.list({ agent })).map((t) => t.requestId);
      expect(traces).toEqual([newTrace]);
    });
  });
}
