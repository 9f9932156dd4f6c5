import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, type CheckpointInput } from '../../src/stores/ports.js';
import { rejectionOf, uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function directiveStoreContract(name: string, open: OpenRelational): void {
  describe(`${name}: DirectiveStore`, () => {
    let h: RelationalHarness;
    let agent: string;
    beforeEach(async () => {
      h = await open();
      agent = uid('agent');
      await h.stores.agents.create({ name: agent });
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('appends versions 1, 2, 3 with the text SHA-256; current is the highest', async () => {
      const d = h.stores.directives;
      expect(await d.current(agent)).toBeNull();
      const v1 = await d.append(agent, 'be brief');
      const v2 = await d.append(agent, 'be kind');
      const v3 = await d.append(agent, 'be brief ✓ — 日本');
      expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
      expect(v3).toMatchObject({ agent, text: 'be brief ✓ — 日本', sha256: sha256('be brief ✓ — 日本') });
      expect(await d.current(agent)).toEqual(v3);
      expect(await d.get(agent, 2)).toEqual(v2);
      expect(await d.get(agent, 4)).toBeNull();
      expect(await d.get(uid('nobody'), 1)).toBeNull();
      expect((await d.history(agent)).map((x) => x.version)).toEqual([3, 2, 1]);
      expect(await d.history(uid('nobody'))).toEqual([]);
    });

    it('round-trips a large multi-line text byte for byte', async () => {
      const text = Array.from({ length: 2000 }, (_, i) => `line ${i}: "quotes" \\ back\ttab émoji 🐐`).join('\n') + '\n';
      const d = await h.stores.directives.append(agent, text);
      const back = await h.stores.directives.get(agent, d.version);
      expect(back?.text).toBe(text);
      expect(back?.sha256).toBe(sha256(text));
    });

    it('answers null for versions that cannot exist', async () => {
      await h.stores.directives.append(agent, 'x');
      for (const v of [0, -1, 1.5, 2 ** 40, Number.NaN]) expect(await h.stores.directives.get(agent, v)).toBeNull();
    });

    it('keeps versions per agent', async () => {
      const other = uid('agent');
      await h.stores.agents.create({ name: other });
      await h.stores.directives.append(agent, 'a1');
      await h.stores.directives.append(agent, 'a2');
      expect((await h.stores.directives.append(other, 'b1')).version).toBe(1);
    });

    it('ifVersion: appends only when the current version matches (0 = none yet)', async () => {
      const d = h.stores.directives;
      expect(await rejectionOf(d.append(agent, 'x', { ifVersion: 1 }))).toBeInstanceOf(ConflictError);
      expect((await d.append(agent, 'first', { ifVersion: 0 })).version).toBe(1);
      expect(await rejectionOf(d.append(agent, 'stale', { ifVersion: 0 }))).toBeInstanceOf(ConflictError);
      expect((await d.append(agent, 'second', { ifVersion: 1 })).version).toBe(2);
      expect((await d.current(agent))?.text).toBe('second');
      expect((await d.history(agent)).map((x) => x.text)).toEqual(['second', 'first']);
    });

    it('refuses an unknown agent with NotFoundError', async () => {
      expect(await rejectionOf(h.stores.directives.append(uid('ghost'), 'x'))).toBeInstanceOf(NotFoundError);
    });

    it('20 concurrent appends get 20 distinct consecutive versions', async () => {
      const texts = Array.from({ length: 20 }, (_, i) => `text ${i}`);
      const results = await Promise.all(texts.map((t) => h.stores.directives.append(agent, t)));
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const history = await h.stores.directives.history(agent);
      expect(history).toHaveLength(20);
      // every text landed exactly once, under the version its append returned
      for (const r of results) expect((await h.stores.directives.get(agent, r.version))?.text).toBe(r.text);
    });

    it('concurrent appends with the same ifVersion: exactly one wins', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => h.stores.directives.append(agent, `racer ${i}`, { ifVersion: 0 })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const l of lost) expect(l.reason).toBeInstanceOf(ConflictError);
      expect((await h.stores.directives.history(agent)).length).toBe(1);
    });

    it('the schema itself refuses UPDATE and DELETE of a directive row', async () => {
      await h.stores.directives.append(agent, 'original');
      const quoted = `'${agent}'`;
      await expect(h.exec(`UPDATE directives SET text = 'rewritten' WHERE agent = ${quoted}`)).rejects.toThrow(/immutable/);
      await expect(h.exec(`DELETE FROM directives WHERE agent = ${quoted}`)).rejects.toThrow(/immutable/);
      const current = await h.stores.directives.current(agent);
      expect(current).toMatchObject({ version: 1, text: 'original', sha256: sha256('original') });
    });

    it('currentVersions maps every agent that has a directive to its highest version', async () => {
      const other = uid('agent');
      const none = uid('agent');
      await h.stores.agents.create({ name: other });
      await h.stores.agents.create({ name: none });
      await h.stores.directives.append(agent, '1');
      await h.stores.directives.append(agent, '2');
      await h.stores.directives.append(other, '1');
      const versions = await h.stores.directives.currentVersions();
      expect(versions.get(agent)).toBe(2);
      expect(versions.get(other)).toBe(1);
      expect(versions.has(none)).toBe(false);
    });

    describe('deployments (issue 15)', () => {
      it('a plain append serves the new version to everyone; --rollout all-sessions raises the floor', async () => {
        const d = h.stores.directives;
        expect(await d.deployState(agent)).toBeNull();
        await d.append(agent, 'v1');
        expect(await d.deployState(agent)).toMatchObject({ latest: 1, stable: 1, canary: null, rollout: 'new-sessions', floor: 0, promptCache: false });
        await d.deploy(agent, 'v2', { rollout: 'all-sessions' });
        expect(await d.deployState(agent)).toMatchObject({ latest: 2, stable: 2, rollout: 'all-sessions', floor: 2 });
        await d.deploy(agent, 'v3');
        // the floor stays: sessions moved to v2 by that rollout are not sent back to v1
        expect(await d.deployState(agent)).toMatchObject({ latest: 3, stable: 3, rollout: 'new-sessions', floor: 2 });
      });

      it('a canary keeps the stable version, a second canary replaces the first, a plain set ends it', async () => {
        const d = h.stores.directives;
        expect(await rejectionOf(d.deploy(agent, 'nothing to compare', { canary: 10 }))).toBeInstanceOf(ConflictError);
        expect(await d.history(agent)).toEqual([]); // the refused canary wrote nothing
        await d.append(agent, 'v1');
        const v2 = await d.deploy(agent, 'v2', { canary: 10 });
        expect(v2.version).toBe(2);
        const s1 = (await d.deployState(agent))!;
        expect(s1).toMatchObject({ latest: 2, stable: 1, canary: { version: 2, percent: 10 } });
        await d.deploy(agent, 'v3', { canary: 25 });
        expect(await d.deployState(agent)).toMatchObject({ latest: 3, stable: 1, canary: { version: 3, percent: 25 } });
        await d.append(agent, 'v4');
        const s2 = (await d.deployState(agent))!;
        expect(s2).toMatchObject({ latest: 4, stable: 4, canary: null });
        expect(s2.revision).toBeGreaterThan(s1.revision);
        expect(await rejectionOf(d.deploy(uid('ghost'), 'x', { canary: 5 }))).toBeInstanceOf(NotFoundError);
      });

      it('promote serves the canary; abort appends the stable text as a new version; both refuse without a canary', async () => {
        const d = h.stores.directives;
        await d.append(agent, 'stable text');
        expect(await rejectionOf(d.promote(agent))).toBeInstanceOf(ConflictError);
        expect(await rejectionOf(d.abort(agent))).toBeInstanceOf(ConflictError);
        await d.deploy(agent, 'canary text', { canary: 50, rollout: 'all-sessions' });
        const promoted = await d.promote(agent);
        expect(promoted).toMatchObject({ latest: 2, stable: 2, canary: null, rollout: 'all-sessions', floor: 2 });

        await d.deploy(agent, 'bad canary', { canary: 5 });
        const back = await d.abort(agent);
        expect(back).toMatchObject({ version: 4, text: 'canary text', sha256: sha256('canary text') });
        expect(await d.deployState(agent)).toMatchObject({ latest: 4, stable: 4, canary: null, rollout: 'new-sessions', floor: 2 });
        expect((await d.history(agent)).map((x) => x.version)).toEqual([4, 3, 2, 1]); // nothing deleted

        await d.deploy(agent, 'another', { canary: 5 });
        await d.promote(agent, { rollout: 'all-sessions' });
        expect(await d.deployState(agent)).toMatchObject({ stable: 5, floor: 5, rollout: 'all-sessions' });
      });

      it('prompt caching is a per-agent switch, kept across versions; deployStates lists every agent', async () => {
        const d = h.stores.directives;
        const other = uid('agent');
        await h.stores.agents.create({ name: other });
        expect((await d.setPromptCache(agent, true)).promptCache).toBe(true); // before any version
        expect(await d.deployState(agent)).toMatchObject({ latest: 0, stable: 0, promptCache: true });
        await d.append(agent, 'v1');
        await d.append(other, 'o1');
        expect((await d.deployState(agent))!.promptCache).toBe(true);
        const all = await d.deployStates();
        expect(all.get(agent)).toMatchObject({ latest: 1, promptCache: true });
        expect(all.get(other)).toMatchObject({ latest: 1, promptCache: false });
        expect((await d.setPromptCache(agent, false)).promptCache).toBe(false);
        expect(await rejectionOf(d.setPromptCache(uid('ghost'), true))).toBeInstanceOf(NotFoundError);
      });

      it('a session records the version of its first checkpoint; totals per version count cache hits', async () => {
        const d = h.stores.directives;
        const s1 = uid('sess');
        const s2 = uid('sess');
        const t0 = Date.now();
        const cp = (sessionId: string, n: number, version: number | null, cached?: number): CheckpointInput => ({
          sessionId,
          agent,
          patId: 'pat_1',
          requestId: uid(`req-${n}`),
          clientRequestId: null,
          model: 'm',
          directiveVersion: version,
          messages: [],
          reply: 'r',
          finishReason: 'stop',
          usage: { promptTokens: 100, completionTokens: 1, totalTokens: 101, ...(cached === undefined ? {} : { cachedTokens: cached }) },
          costUsd: null,
          status: 'ok',
          errorCode: null,
          stream: false,
          createdAt: t0 + n,
        });
        expect(await d.sessionVersion(s1)).toBeNull();
        await h.stores.sessions.claimSession(s1, agent, 'pat_1', t0); // a named session: claimed before its first turn
        expect(await d.sessionVersion(s1)).toBeNull();
        await h.stores.sessions.appendCheckpoints([cp(s1, 1, 2, 0), cp(s2, 2, 3, 64)]);
        await h.stores.sessions.appendCheckpoints([cp(s1, 3, 3, 80)]);
        expect(await d.sessionVersion(s1)).toBe(2);
        expect(await d.sessionVersion(s2)).toBe(3);
        const cps = await h.stores.sessions.checkpoints(s1);
        expect(cps.map((c) => c.usage?.cachedTokens)).toEqual([0, 80]);
        expect(await d.checkpointTotals(agent)).toEqual([
          { version: 2, checkpoints: 1, sessions: 1, promptTokens: 100, cachedTokens: 0, cacheHits: 0 },
          { version: 3, checkpoints: 2, sessions: 2, promptTokens: 200, cachedTokens: 144, cacheHits: 2 },
        ]);
      });
    });
  });
}
