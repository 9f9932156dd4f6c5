// SessionOwners (src/sessions/owners.ts) over a fake claim store: named ids are claimed before the
// request goes on and cached after, concurrent first requests share one round trip, a store that
// does not answer refuses the request (503) without caching anything, generated ids never wait.
import { describe, expect, it } from 'vitest';
import { IbexError } from '../../src/errors.js';
import { SessionOwners, type SessionClaimer } from '../../src/sessions/owners.js';
import { RefusedCheckpoints } from '../../src/sessions/refused.js';

class FakeClaims implements SessionClaimer {
  readonly owners = new Map<string, string>();
  calls = 0;
  fail: Error | null = null;
  /** While set, claims wait for it (to hold a claim in flight) */
  gate: Promise<void> | null = null;

  async claimSession(sessionId: string, agent: string): Promise<string> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    if (!this.owners.has(sessionId)) this.owners.set(sessionId, agent);
    return this.owners.get(sessionId)!;
  }
}

/** The refusal, whether thrown at once (a cached owner) or by the returned promise (a store round trip). */
async function errorOf(claim: () => Promise<void> | void): Promise<IbexError> {
  try {
    await claim();
  } catch (err) {
    return err as IbexError;
  }
  throw new Error('expected a refusal');
}

describe('SessionOwners', () => {
  it('claims a named id once per process, then answers from the cache', async () => {
    const store = new FakeClaims();
    const owners = new SessionOwners(store);
    await owners.claim('s1', 'a', 'pat_a', 1);
    expect(store.owners.get('s1')).toBe('a');
    expect(owners.claim('s1', 'a', 'pat_a', 2)).toBeUndefined(); // cached: synchronous, no round trip
    const e = await errorOf(() => owners.claim('s1', 'b', 'pat_b', 3));
    expect([e.status, e.code]).toEqual([403, 'agent_forbidden']);
    expect(store.calls).toBe(1);
  });

  it('another process owning the id: 403, and the owner is cached', async () => {
    const store = new FakeClaims();
    store.owners.set('s2', 'other');
    const owners = new SessionOwners(store);
    expect((await errorOf(() => owners.claim('s2', 'a', 'pat_a', 1))).code).toBe('agent_forbidden');
    expect(() => owners.claim('s2', 'a', 'pat_a', 1)).toThrow(IbexError);
    expect(store.calls).toBe(1);
  });

  it('concurrent first requests for one id share one claim; the first agent wins', async () => {
    const store = new FakeClaims();
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const owners = new SessionOwners(store);
    const first = owners.claim('s3', 'a', 'pat_a', 1);
    const second = owners.claim('s3', 'b', 'pat_b', 1);
    open();
    await expect(first).resolves.toBeUndefined();
    expect((await errorOf(() => second)).code).toBe('agent_forbidden');
    expect(store.calls).toBe(1);
  });

  it('a store that does not answer: 503 service_unavailable, reported, nothing cached (the next request asks again)', async () => {
    const store = new FakeClaims();
    store.fail = new Error('connect ECONNREFUSED');
    const reported: [string, boolean][] = [];
    const owners = new SessionOwners(store, { onClaimError: (err) => reported.push([err.message, true]) });
    const e = await errorOf(() => owners.claim('s4', 'a', 'pat_a', 1));
    expect([e.status, e.code, e.param]).toEqual([503, 'service_unavailable', 'X-Ibex-Session']);
    expect(e.message).not.toContain('ECONNREFUSED'); // store details stay in the log
    expect(reported).toEqual([['connect ECONNREFUSED', true]]);
    store.fail = null;
    await owners.claim('s4', 'a', 'pat_a', 2);
    expect(store.calls).toBe(2);
  });

  it('a generated id is owned at once without a store round trip; another agent naming it is refused', () => {
    const store = new FakeClaims();
    const owners = new SessionOwners(store);
    owners.known('g1', 'a');
    expect(owners.claim('g1', 'a', 'pat_a', 2)).toBeUndefined();
    expect(() => owners.claim('g1', 'b', 'pat_b', 2)).toThrow(IbexError);
    // Its first checkpoint makes the session row; nothing was asked of the store.
    expect(store.calls).toBe(0);
  });

  it("a session a continuation's link names is owned by the link's agent without a store round trip, even while the store fails", () => {
    const store = new FakeClaims();
    store.fail = new Error('connect ECONNREFUSED');
    const owners = new SessionOwners(store);
    owners.known('linked', 'a');
    expect(owners.claim('linked', 'a', 'pat_a', 2)).toBeUndefined();
    expect(() => owners.claim('linked', 'b', 'pat_b', 2)).toThrow(IbexError);
    expect(store.calls).toBe(0);
  });
});

describe('RefusedCheckpoints', () => {
  it('counts every refused checkpoint and logs a throttled line naming the latest', () => {
    const lines: string[] = [];
    const r = new RefusedCheckpoints((_level, msg) => lines.push(msg), 60_000);
    r.record({ refused: [] });
    r.record(undefined);
    expect(lines).toEqual([]);
    r.record({ refused: [{ sessionId: 's', requestId: 'r1', agent: 'b', owner: 'a' }] });
    r.record({ refused: [{ sessionId: 's', requestId: 'r2', agent: 'b', owner: 'a' }, { sessionId: 't', requestId: 'r3', agent: 'c', owner: 'a' }] });
    expect(r.total).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/1 checkpoint\(s\) not written: their session belongs to another agent \(latest: session s of a, request r1 of b/);
  });
});
