// A session belongs to exactly one agent, on every replica. Ownership is decided by the shared session
// store (SessionStore.claimSession: one atomic insert-if-absent that answers the owner), never by what
// one process happens to have seen, so two replicas racing on a new id agree on a single owner.
//
// - An id the caller names (X-Ibex-Session) is claimed before the request is forwarded. If the store
//   cannot answer, nobody can tell whose the session is: the request is refused (503, fail closed).
// - An id ibex generated (128 random bits) is unknown to anyone before the reply carries it, so it is
//   not claimed at all: its first checkpoint append creates the session row for its agent, and that
//   append writes a checkpoint only into a session its own agent owns. Should another replica see the
//   id named before that append lands, its claim makes the row; for the same agent (the only one that
//   holds the id) that is the same owner. Skipping the claim saved about a third of the embedded
//   writer's CPU per request (bench/BENCHMARKS.md).
// - The session a Responses continuation's link names (`previous_response_id`, `conversation`) is not
//   claimed either: the link records the agent its turn was served for, which owns the session.
//
// The owner of each id is then cached, so only the first request per id per process pays the round
// trip. Owners never change, so a cached owner is never stale.
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { SessionStore } from '../stores/ports.js';

export type SessionClaimer = Pick<SessionStore, 'claimSession'>;

export interface SessionOwnersOptions {
  /** The store did not answer the claim of a named id (the request was refused with 503). */
  onClaimError?: (err: Error) => void;
}

export class SessionOwners {
  // Bounded small on purpose: an evicted owner costs one store round trip when that session is next
  // named, while every cached entry is memory held for the process's lifetime (a 100k cache showed as
  // +18 MB of RSS in the soak).
  private readonly owners = new LRUCache<string, string>({ max: 10_000 });
  /** Claims in flight, so concurrent first requests for one id share one round trip. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly store: SessionClaimer,
    private readonly opts: SessionOwnersOptions = {},
  ) {}

  /**
   * A session whose owner is known without asking the store: an id this process just generated
   * (its first checkpoint records the owner), or the one a Responses continuation's link names
   * (ResponseLinks), with the agent the turn that recorded the link was served for. A checkpoint is
   * only ever appended to a session of its own agent, so that agent owns it.
   */
  known(sessionId: string, agent: string): void {
    this.owners.set(sessionId, agent);
  }

  /**
   * A session id the caller named. Resolves (or returns, when the owner is cached) if `agent` owns it,
   * claiming it when new; throws 403 agent_forbidden if another agent does, 503 service_unavailable
   * if the store could not say.
   */
  claim(sessionId: string, agent: string, patId: string, at: number): Promise<void> | void {
    const owner = this.owners.get(sessionId);
    if (owner !== undefined) return assertOwner(owner, agent);
    return this.claimOnce(sessionId, agent, patId, at).then(
      (owner) => assertOwner(owner, agent),
      (err: Error) => {
        this.opts.onClaimError?.(err);
        throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', {
          message: 'The session store did not answer, so whose this X-Ibex-Session is cannot be checked; retry shortly.',
          param: 'X-Ibex-Session',
          cause: err,
        });
      },
    );
  }

  private claimOnce(sessionId: string, agent: string, patId: string, at: number): Promise<string> {
    let p = this.pending.get(sessionId);
    if (!p) {
      p = this.store.claimSession(sessionId, agent, patId, at).then((owner) => {
        this.owners.set(sessionId, owner);
        return owner;
      });
      const settled = () => {
        this.pending.delete(sessionId);
      };
      p.then(settled, settled);
      this.pending.set(sessionId, p);
    }
    return p;
  }
}

function assertOwner(owner: string, agent: string): void {
  if (owner !== agent) {
    throw new IbexError('IBEX_ERR_AGENT_FORBIDDEN', {
      message: 'This X-Ibex-Session belongs to another agent; omit the header to start a new session.',
      param: 'X-Ibex-Session',
    });
  }
}
