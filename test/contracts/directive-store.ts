import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/stores/ports.js';
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
  });
}
