import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/stores/ports.js';
import { rejectionOf, sleep, uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

export function agentStoreContract(name: string, open: OpenRelational): void {
  describe(`${name}: AgentStore`, () => {
    let h: RelationalHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('creates an agent with defaults and reads it back', async () => {
      const before = Date.now();
      const n = uid('agent');
      const created = await h.stores.agents.create({ name: n });
      expect(created).toMatchObject({ name: n, description: null, rpm: null, enabled: true });
      expect(created.createdAt).toBeGreaterThanOrEqual(before);
      expect(created.createdAt).toBeLessThanOrEqual(Date.now());
      expect(await h.stores.agents.get(n)).toEqual(created);
    });

    it('keeps description and rpm', async () => {
      const n = uid('agent');
      await h.stores.agents.create({ name: n, description: 'support bot', rpm: 120 });
      expect(await h.stores.agents.get(n)).toMatchObject({ description: 'support bot', rpm: 120 });
    });

    it('keeps token limits and budgets from creation; none by default', async () => {
      const n = uid('agent');
      const created = await h.stores.agents.create({ name: n, tpm: 50_000, budgetUsdDay: 5.5, budgetTokensMonth: 1_000_000_000_000 });
      expect(created).toMatchObject({ tpm: 50_000, budgetUsdDay: 5.5, budgetUsdWeek: null, budgetTokensMonth: 1_000_000_000_000, budgetFallbackModel: null });
      expect(await h.stores.agents.get(n)).toEqual(created);
      const plain = await h.stores.agents.create({ name: uid('agent') });
      expect(plain).toMatchObject({ tpm: null, budgetUsdDay: null, budgetWarnPct: null, budgetFallbackModel: null });
    });

    it('update changes only the fields given (null clears), and answers null for an unknown agent', async () => {
      const n = uid('agent');
      await h.stores.agents.create({ name: n, description: 'd', rpm: 10, tpm: 100, budgetUsdDay: 1 });
      const u = await h.stores.agents.update(n, { tpm: 200, budgetUsdDay: null, budgetUsdMonth: 30, budgetWarnPct: 90, budgetFallbackModel: 'gpt-4.1-nano' });
      expect(u).toMatchObject({ description: 'd', rpm: 10, tpm: 200, budgetUsdDay: null, budgetUsdMonth: 30, budgetWarnPct: 90, budgetFallbackModel: 'gpt-4.1-nano' });
      expect(await h.stores.agents.get(n)).toEqual(u);
      const v = await h.stores.agents.update(n, { rpm: null, description: 'e' });
      expect(v).toMatchObject({ rpm: null, description: 'e', tpm: 200, budgetUsdMonth: 30 });
      expect(await h.stores.agents.update(uid('nobody'), { tpm: 1 })).toBeNull();
    });

    it('answers null for an unknown agent', async () => {
      expect(await h.stores.agents.get(uid('nobody'))).toBeNull();
    });

    it('refuses a duplicate name with ConflictError and keeps the first', async () => {
      const n = uid('agent');
      await h.stores.agents.create({ name: n, description: 'first' });
      expect(await rejectionOf(h.stores.agents.create({ name: n, description: 'second' }))).toBeInstanceOf(ConflictError);
      expect((await h.stores.agents.get(n))?.description).toBe('first');
    });

    it('lists agents most recently created first', async () => {
      const a = uid('agent-a');
      const b = uid('agent-b');
      await h.stores.agents.create({ name: a });
      await sleep(3);
      await h.stores.agents.create({ name: b });
      const names = (await h.stores.agents.list()).map((x) => x.name);
      expect(names).toContain(a);
      expect(names.indexOf(b)).toBeLessThan(names.indexOf(a));
    });

    it('disables and enables; disabling appends one agent revocation event', async () => {
      const n = uid('agent');
      await h.stores.agents.create({ name: n });
      const head = await h.stores.revocations.head();

      const disabled = await h.stores.agents.setEnabled(n, false);
      expect(disabled?.enabled).toBe(false);
      expect((await h.stores.agents.get(n))?.enabled).toBe(false);
      const events = (await h.stores.revocations.since(head)).filter((e) => e.subject === n);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'agent', subject: n });

      // Disabling again changes nothing and appends nothing.
      await h.stores.agents.setEnabled(n, false);
      expect((await h.stores.revocations.since(head)).filter((e) => e.subject === n)).toHaveLength(1);

      const enabled = await h.stores.agents.setEnabled(n, true);
      expect(enabled?.enabled).toBe(true);
      expect((await h.stores.agents.get(n))?.enabled).toBe(true);
    });

    it('answers null when enabling or disabling an unknown agent', async () => {
      expect(await h.stores.agents.setEnabled(uid('nobody'), false)).toBeNull();
      expect(await h.stores.agents.setEnabled(uid('nobody'), true)).toBeNull();
    });
  });
}
