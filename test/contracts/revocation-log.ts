import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

export function revocationLogContract(name: string, open: OpenRelational): void {
  describe(`${name}: RevocationLog`, () => {
    let h: RelationalHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('appends events with increasing seq, readable since a cursor, oldest first', async () => {
      const log = h.stores.revocations;
      const head = await log.head();
      const before = Date.now();
      const s1 = uid('hash');
      const s2 = uid('agent');
      const e1 = await log.append({ kind: 'pat', subject: s1, patId: 'pat_x' });
      const e2 = await log.append({ kind: 'agent', subject: s2 });
      expect(e1.seq).toBeGreaterThan(head);
      expect(e2.seq).toBeGreaterThan(e1.seq);
      expect(e1.at).toBeGreaterThanOrEqual(before);
      expect(await log.head()).toBe(e2.seq);

      const since = (await log.since(head)).filter((e) => e.subject === s1 || e.subject === s2);
      expect(since).toEqual([
        { seq: e1.seq, kind: 'pat', subject: s1, patId: 'pat_x', at: e1.at },
        { seq: e2.seq, kind: 'agent', subject: s2, patId: null, at: e2.at },
      ]);
      expect(await log.since(e2.seq)).toEqual([]);
    });

    it('honours the limit', async () => {
      const log = h.stores.revocations;
      const head = await log.head();
      for (let i = 0; i < 3; i++) await log.append({ kind: 'agent', subject: uid('agent') });
      const page = await log.since(head, 2);
      expect(page).toHaveLength(2);
      const rest = await log.since(page[1]!.seq, 10);
      expect(rest.length).toBeGreaterThanOrEqual(1);
      expect(rest[0]!.seq).toBeGreaterThan(page[1]!.seq);
    });

    it('head is 0 or more and never goes down', async () => {
      const head = await h.stores.revocations.head();
      expect(head).toBeGreaterThanOrEqual(0);
      await h.stores.revocations.append({ kind: 'agent', subject: uid('agent') });
      expect(await h.stores.revocations.head()).toBeGreaterThan(head);
    });
  });
}
