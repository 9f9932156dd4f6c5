// SessionStore.pageSessions (issue 16): newest created first, walked with `before`; a session's
// place does not move when it gets new turns, so a walk during traffic neither repeats nor skips.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Session } from '../../src/stores/ports.js';
import { uid, type OpenRelational, type RelationalHarness } from './relational-harness.js';

export function sessionPageContract(name: string, open: OpenRelational): void {
  describe(`${name}: SessionStore.pageSessions`, () => {
    let h: RelationalHarness;
    let agent: string;
    let t0: number;
    beforeEach(async () => {
      h = await open();
      agent = uid('agent');
      t0 = Date.now() - 60_000;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function walk(pageSize: number, during?: (page: number) => Promise<void>): Promise<Session[]> {
      const seen: Session[] = [];
      let before: { createdAt: number; id: string } | undefined;
      for (let page = 0; page < 100; page++) {
        const rows = await h.stores.sessions.pageSessions({ agent, limit: pageSize, before });
        seen.push(...rows);
        if (rows.length < pageSize) break;
        const last = rows[rows.length - 1]!;
        before = { createdAt: last.createdAt, id: last.id };
        await during?.(page);
      }
      return seen;
    }

    it('walks 120 sessions with `before`: each once, newest created first, ties broken by id, while older ones get turns', async () => {
      const ids: { id: string; at: number }[] = [];
      for (let i = 0; i < 120; i++) {
        // Two sessions per millisecond: the id breaks the tie.
        const s = { id: uid(`sess-${String(i).padStart(3, '0')}`), at: t0 + Math.floor(i / 2) };
        ids.push(s);
        await h.stores.sessions.claimSession(s.id, agent, 'pat_1', s.at);
      }
      const other = uid('agent');
      await h.stores.sessions.claimSession(uid('sess'), other, 'pat_1', t0 + 30);

      const expected = [...ids].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map((s) => s.id);
      // A turn on the oldest session between pages: by update time it would jump to the top.
      const seen = await walk(25, async (page) => {
        if (page === 1) {
          await h.stores.sessions.appendCheckpoints([
            {
              sessionId: ids[0]!.id,
              agent,
              patId: 'pat_1',
              requestId: uid('req'),
              clientRequestId: null,
              model: 'm',
              directiveVersion: null,
              messages: [],
              reply: 'r',
              finishReason: 'stop',
              usage: null, costUsd: null,
              status: 'ok',
              errorCode: null,
              stream: false,
              createdAt: Date.now(),
            },
          ]);
        }
      });
      expect(seen.map((s) => s.id)).toEqual(expected);
      expect(seen.every((s) => s.agent === agent)).toBe(true);
      expect(seen.find((s) => s.id === ids[0]!.id)!.turns).toBe(1);
    });

    it('limit defaults to 50; an unknown agent or a cursor past the end gives []', async () => {
      for (let i = 0; i < 55; i++) await h.stores.sessions.claimSession(uid('sess'), agent, 'pat_1', t0 + i);
      expect(await h.stores.sessions.pageSessions({ agent })).toHaveLength(50);
      expect(await h.stores.sessions.pageSessions({ agent: uid('nobody') })).toEqual([]);
      expect(await h.stores.sessions.pageSessions({ agent, before: { createdAt: t0, id: '' } })).toEqual([]);
    });
  });
}
