// ResponseLinks: memory first, the session store for an id this process does not hold (another
// replica's or an earlier process's turn). The store here is a stand-in to count and fail lookups; the
// real stores' findResponseLink is in test/contracts/session-store.ts.
import { describe, expect, it } from 'vitest';
import { ResponseLinks } from '../../src/sessions/response-links.js';
import { IbexError } from '../../src/errors.js';
import type { RecentResponseLinks, StoredResponseLink } from '../../src/stores/ports.js';

function storeOf(links: Record<string, StoredResponseLink>, opts: { fail?: boolean; delayMs?: number } = {}) {
  const asked: string[] = [];
  return {
    asked,
    async findResponseLink(id: string): Promise<StoredResponseLink | null> {
      asked.push(id);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.fail) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return links[id] ?? null;
    },
  };
}

/** A stand-in for the Redis links of turns just served (the adapter itself: test/integration/redis-recent-response-links.test.ts) */
function recentOf(links: Record<string, StoredResponseLink>, opts: { fail?: boolean } = {}): RecentResponseLinks & { asked: string[]; put: (id: string, l: StoredResponseLink) => void } {
  const asked: string[] = [];
  return {
    asked,
    async get(id) {
      asked.push(id);
      if (opts.fail) throw new Error('Command timed out');
      return links[id] ?? null;
    },
    put(id, link) {
      links[id] = link;
    },
  };
}

const stored: StoredResponseLink = { sessionId: 'ses_1', agent: 'alice', stateAt: { provider: 'oai', keyIndex: 2 } };

describe('ResponseLinks', () => {
  it('answers from memory without asking the store', () => {
    const store = storeOf({});
    const links = new ResponseLinks({ store });
    links.set('resp_1', { sessionId: 'ses_9', agent: 'bob' });
    expect(links.resolve('resp_1')).toEqual({ sessionId: 'ses_9', agent: 'bob' });
    expect(store.asked).toEqual([]);
  });

  it('reads an unknown id from the store once, then holds it with where its state lives', async () => {
    const store = storeOf({ resp_1: stored });
    const links = new ResponseLinks({ store });
    expect(await links.resolve('resp_1')).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    expect(links.stateAt('resp_1')).toEqual({ provider: 'oai', keyIndex: 2 });
    expect(links.resolve('resp_1')).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    expect(store.asked).toEqual(['resp_1']);
  });

  it('concurrent first continuations of one id share one lookup', async () => {
    const store = storeOf({ resp_1: stored }, { delayMs: 20 });
    const links = new ResponseLinks({ store });
    const all = await Promise.all([links.resolve('resp_1'), links.resolve('resp_1'), links.resolve('resp_1')]);
    expect(all.map((l) => l?.agent)).toEqual(['alice', 'alice', 'alice']);
    expect(store.asked).toEqual(['resp_1']);
  });

  it('an id nobody recorded is undefined and asked again next time (it may be written by then)', async () => {
    const store = storeOf({});
    const links = new ResponseLinks({ store });
    expect(await links.resolve('resp_x')).toBeUndefined();
    expect(await links.resolve('resp_x')).toBeUndefined();
    expect(store.asked).toEqual(['resp_x', 'resp_x']);
  });

  it('a link recorded here while the store was asked wins over the stored one', async () => {
    const store = storeOf({ resp_1: stored }, { delayMs: 20 });
    const links = new ResponseLinks({ store });
    const pending = links.resolve('resp_1');
    links.set('resp_1', { sessionId: 'ses_new', agent: 'alice' });
    links.setStateAt('resp_1', { provider: 'other', keyIndex: 0 });
    expect(await pending).toEqual({ sessionId: 'ses_new', agent: 'alice' });
    expect(links.stateAt('resp_1')).toEqual({ provider: 'other', keyIndex: 0 });
  });

  it('a store that cannot answer is a 503 naming previous_response_id, reported once per failure', async () => {
    const errors: string[] = [];
    const links = new ResponseLinks({ store: storeOf({}, { fail: true }), onLookupError: (e) => errors.push(e.message) });
    const err = await (links.resolve('resp_1') as Promise<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IbexError);
    expect((err as IbexError).status).toBe(503);
    expect((err as IbexError).param).toBe('previous_response_id');
    expect(errors).toEqual(['connect ECONNREFUSED 127.0.0.1:5432']);
  });

  it('late: a link written a moment after the first lookup (another replica\'s write-behind) is found by a later try', async () => {
    const links: Record<string, StoredResponseLink> = {};
    const store = storeOf(links);
    const sessions = new ResponseLinks({ store, lateWaitsMs: [20, 20] });
    setTimeout(() => (links.resp_1 = stored), 10);
    expect(await sessions.resolve('resp_1', { late: true })).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    expect(store.asked).toEqual(['resp_1', 'resp_1']);
    // not late: one try
    expect(await sessions.resolve('resp_2')).toBeUndefined();
    // late and never written: one try per wait, then undefined
    expect(await sessions.resolve('resp_3', { late: true })).toBeUndefined();
    expect(store.asked.filter((id) => id === 'resp_3')).toHaveLength(3);
  });

  it('without a store, memory only (an unknown id is undefined at once)', () => {
    expect(new ResponseLinks().resolve('resp_1')).toBeUndefined();
  });

  it('recent (Redis) is asked before the store: a turn just served elsewhere is known with its key, and the store is not asked', async () => {
    const store = storeOf({});
    const recent = recentOf({ resp_1: stored });
    const links = new ResponseLinks({ store, recent });
    expect(await links.resolve('resp_1', { late: true })).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    expect(links.stateAt('resp_1')).toEqual({ provider: 'oai', keyIndex: 2 });
    expect([recent.asked, store.asked]).toEqual([['resp_1'], []]);
  });

  it('recent that cannot answer is reported and the store answers instead (no 503)', async () => {
    const store = storeOf({ resp_1: stored });
    const errors: string[] = [];
    const links = new ResponseLinks({ store, recent: recentOf({}, { fail: true }), onRecentError: (e) => errors.push(e.message) });
    expect(await links.resolve('resp_1')).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    expect(errors).toEqual(['Command timed out']);
    expect(store.asked).toEqual(['resp_1']);
  });

  it('share() puts what the checkpoint will record where the other replicas read it, but not an id the checkpoint would not record', async () => {
    const shared: Record<string, StoredResponseLink> = {};
    const a = new ResponseLinks({ store: storeOf({}), recent: recentOf(shared) });
    a.share('conv_1', stored);
    a.share('conv_' + 'x'.repeat(300), stored);
    expect(Object.keys(shared)).toEqual(['conv_1']);
    // another process, same Redis: knows it before any checkpoint is written
    const b = new ResponseLinks({ store: storeOf({}), recent: recentOf(shared), lateWaitsMs: [] });
    expect(await b.resolve('conv_1')).toEqual({ sessionId: 'ses_1', agent: 'alice' });
    // without Redis, share() is nothing (the checkpoint alone records it)
    expect(() => new ResponseLinks({ store: storeOf({}) }).share('conv_2', stored)).not.toThrow();
  });

  it('one entry per id: the session link and the state are set apart and kept together', () => {
    const links = new ResponseLinks();
    links.setStateAt('resp_1', { provider: 'oai', keyIndex: null });
    expect(links.get('resp_1')).toBeUndefined();
    links.set('resp_1', { sessionId: 'ses_1', agent: 'alice' });
    expect([links.get('resp_1'), links.stateAt('resp_1')]).toEqual([{ sessionId: 'ses_1', agent: 'alice' }, { provider: 'oai', keyIndex: null }]);
  });
});
