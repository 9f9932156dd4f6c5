import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatePat } from '../../src/auth/pat.js';
import { ConflictError, NotFoundError, type NewPat } from '../../src/stores/ports.js';
import { rejectionOf, sleep, uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

function newPat(agents: string[], extra: Partial<NewPat> = {}): NewPat {
  const { id, prefix, hash } = generatePat();
  return { id, prefix, hash, agents, ...extra };
}

export function tokenStoreContract(name: string, open: OpenRelational): void {
  describe(`${name}: TokenStore`, () => {
    let h: RelationalHarness;
    let agentA: string;
    let agentB: string;
    beforeEach(async () => {
      h = await open();
      agentA = uid('agent-a');
      agentB = uid('agent-b');
      await h.stores.agents.create({ name: agentA });
      await h.stores.agents.create({ name: agentB });
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('creates a PAT and finds it by hash with every field', async () => {
      const expiresAt = Date.now() + 60_000;
      const pat = newPat([agentB, agentA], { name: 'ci', rpm: 30, expiresAt });
      const created = await h.stores.tokens.create(pat);
      expect(created).toMatchObject({
        id: pat.id,
        prefix: pat.prefix,
        hash: pat.hash,
        name: 'ci',
        agents: [agentB, agentA],
        rpm: 30,
        expiresAt,
        revokedAt: null,
      });
      expect(await h.stores.tokens.findByHash(pat.hash)).toEqual(created);
      expect(await h.stores.tokens.findByHash('0'.repeat(64))).toBeNull();
    });

    it('defaults name, rpm and expiry to null and drops repeated agents', async () => {
      const pat = newPat([agentA, agentA]);
      const created = await h.stores.tokens.create(pat);
      expect(created).toMatchObject({ name: null, rpm: null, expiresAt: null, agents: [agentA] });
      expect((await h.stores.tokens.findByHash(pat.hash))?.agents).toEqual([agentA]);
    });

    it('keeps the PAT\'s token limit and budgets; none by default', async () => {
      const pat = newPat([agentA], { tpm: 1000, budgetUsdWeek: 2.5, budgetTokensDay: 123_456, budgetWarnPct: 70 });
      const created = await h.stores.tokens.create(pat);
      expect(created).toMatchObject({ tpm: 1000, budgetUsdWeek: 2.5, budgetTokensDay: 123_456, budgetWarnPct: 70, budgetUsdDay: null });
      expect(await h.stores.tokens.findByHash(pat.hash)).toEqual(created);
      const plain = await h.stores.tokens.create(newPat([agentA]));
      expect(plain).toMatchObject({ tpm: null, budgetUsdDay: null, budgetFallbackModel: null });
    });

    it('refuses an unknown agent with NotFoundError and stores nothing', async () => {
      const pat = newPat([agentA, uid('ghost')]);
      expect(await rejectionOf(h.stores.tokens.create(pat))).toBeInstanceOf(NotFoundError);
      expect(await h.stores.tokens.findByHash(pat.hash)).toBeNull();
      expect(await h.stores.tokens.find(pat.id)).toBeNull();
    });

    it('refuses a duplicate id or hash with ConflictError', async () => {
      const pat = newPat([agentA]);
      await h.stores.tokens.create(pat);
      const sameHash = { ...newPat([agentA]), hash: pat.hash };
      const sameId = { ...newPat([agentA]), id: pat.id };
      expect(await rejectionOf(h.stores.tokens.create(sameHash))).toBeInstanceOf(ConflictError);
      expect(await rejectionOf(h.stores.tokens.create(sameId))).toBeInstanceOf(ConflictError);
      expect(await h.stores.tokens.findByHash(sameId.hash)).toBeNull();
    });

    it('finds by id, display prefix or a unique start of it; ambiguous → ConflictError', async () => {
      const stem = 'ibex_pat_' + uid('x').slice(2, 9);
      const p1 = await h.stores.tokens.create(newPat([agentA], { prefix: stem + 'A' }));
      const p2 = await h.stores.tokens.create(newPat([agentA], { prefix: stem + 'B' }));
      expect((await h.stores.tokens.find(p1.id))?.hash).toBe(p1.hash);
      expect((await h.stores.tokens.find(p2.prefix))?.hash).toBe(p2.hash);
      expect(await rejectionOf(h.stores.tokens.find(stem))).toBeInstanceOf(ConflictError);
      expect(await h.stores.tokens.find(uid('pat_nothing'))).toBeNull();
      expect(await h.stores.tokens.find('')).toBeNull();
      // A LIKE wildcard in the input must not match anything by accident.
      expect(await h.stores.tokens.find(stem.slice(0, -1) + '%')).toBeNull();
    });

    it('lists by agent, most recent first, never the secret', async () => {
      const p1 = await h.stores.tokens.create(newPat([agentA]));
      await sleep(2);
      const p2 = await h.stores.tokens.create(newPat([agentA, agentB]));
      const p3 = await h.stores.tokens.create(newPat([agentB]));
      expect((await h.stores.tokens.list({ agent: agentA })).map((p) => p.id)).toEqual([p2.id, p1.id]);
      expect((await h.stores.tokens.list({ agent: agentB })).map((p) => p.id)).toEqual([p3.id, p2.id]);
      const all = (await h.stores.tokens.list()).map((p) => p.id);
      expect(all.indexOf(p3.id)).toBeLessThan(all.indexOf(p1.id));
      for (const p of await h.stores.tokens.list({ agent: agentA })) expect(Object.keys(p)).not.toContain('token');
    });

    it('revokes idempotently and appends one pat revocation event with the hash', async () => {
      const pat = await h.stores.tokens.create(newPat([agentA]));
      const head = await h.stores.revocations.head();
      const revoked = await h.stores.tokens.revoke(pat.prefix);
      expect(revoked?.revokedAt).toEqual(expect.any(Number));
      expect((await h.stores.tokens.findByHash(pat.hash))?.revokedAt).toBe(revoked!.revokedAt);

      const again = await h.stores.tokens.revoke(pat.id);
      expect(again?.revokedAt).toBe(revoked!.revokedAt);

      const events = (await h.stores.revocations.since(head)).filter((e) => e.subject === pat.hash);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'pat', subject: pat.hash, patId: pat.id, at: revoked!.revokedAt });
      expect(await h.stores.tokens.revoke(uid('pat_nothing'))).toBeNull();
    });

    it('still finds revoked and expired tokens (the caller decides what they are worth)', async () => {
      const expiresAt = Date.now() - 1000;
      const expired = await h.stores.tokens.create(newPat([agentA], { expiresAt }));
      const revoked = await h.stores.tokens.create(newPat([agentA]));
      await h.stores.tokens.revoke(revoked.id);
      expect(await h.stores.tokens.findByHash(expired.hash)).toMatchObject({ id: expired.id, expiresAt, revokedAt: null });
      expect((await h.stores.tokens.findByHash(revoked.hash))?.revokedAt).toEqual(expect.any(Number));
      expect((await h.stores.tokens.find(revoked.prefix))?.id).toBe(revoked.id);
      expect((await h.stores.tokens.list({ agent: agentA })).map((p) => p.id)).toEqual([revoked.id, expired.id]);
    });

    it('allHashes holds live tokens only (not revoked, not expired)', async () => {
      const live = await h.stores.tokens.create(newPat([agentA]));
      const revoked = await h.stores.tokens.create(newPat([agentA]));
      const expired = await h.stores.tokens.create(newPat([agentA], { expiresAt: Date.now() - 1000 }));
      await h.stores.tokens.revoke(revoked.id);
      const hashes = new Set(await h.stores.tokens.allHashes());
      expect(hashes.has(live.hash)).toBe(true);
      expect(hashes.has(revoked.hash)).toBe(false);
      expect(hashes.has(expired.hash)).toBe(false);
    });

    it('createdSince returns new hashes in creation order and advances the cursor', async () => {
      const start = await h.stores.tokens.createdSince(0);
      expect(start.cursor).toBeGreaterThanOrEqual(0);
      const drained = await h.stores.tokens.createdSince(start.cursor);
      expect(drained).toEqual({ hashes: [], cursor: start.cursor });

      const p1 = await h.stores.tokens.create(newPat([agentA]));
      const p2 = await h.stores.tokens.create(newPat([agentB]));
      const next = await h.stores.tokens.createdSince(start.cursor);
      expect(next.hashes).toEqual([p1.hash, p2.hash]);
      expect(next.cursor).toBeGreaterThan(start.cursor);
      expect(await h.stores.tokens.createdSince(next.cursor)).toEqual({ hashes: [], cursor: next.cursor });
      expect((await h.stores.tokens.createdSince(0)).hashes).toEqual(expect.arrayContaining([p1.hash, p2.hash]));
    });
  });
}
