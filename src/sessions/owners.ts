// A session belongs to the agent that started it. Callers choose or echo session ids, so an id named
// by another agent's PAT must not append to (and mix into) someone else's session. The owner of each
// session id is cached: ids this process generated are known at once; a caller-named id costs one
// store read the first time this process sees it. If the store cannot answer, the check lets the
// request through (the session store is not needed to serve it) and says so in the log.
import { LRUCache } from 'lru-cache';
import { IbexError } from '../errors.js';
import type { SessionStore } from '../stores/ports.js';

export class SessionOwners {
  // Bounded small on purpose: an evicted owner costs one store read when that session is next named,
  // while every cached entry is memory held for the process's lifetime (a 100k cache showed as +18 MB
  // of RSS in the soak).
  private readonly owners = new LRUCache<string, string>({ max: 10_000 });

  constructor(
    private readonly store: Pick<SessionStore, 'getSession'>,
    private readonly onLookupError: (err: Error) => void = () => {},
  ) {}

  /** Records the owner of a session id this process just created. */
  claim(sessionId: string, agent: string): void {
    this.owners.set(sessionId, agent);
  }

  /** Throws 403 agent_forbidden when the session exists and belongs to another agent. */
  check(sessionId: string, agent: string): Promise<void> | void {
    const owner = this.owners.get(sessionId);
    if (owner !== undefined) return assertOwner(owner, agent);
    return this.store.getSession(sessionId).then(
      (s) => {
        const known = this.owners.get(sessionId);
        if (known !== undefined) return assertOwner(known, agent);
        // A new id (or one whose first checkpoint is still queued): the first agent to use it owns it.
        this.owners.set(sessionId, s ? s.agent : agent);
        assertOwner(s ? s.agent : agent, agent);
      },
      (err: Error) => this.onLookupError(err),
    );
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
