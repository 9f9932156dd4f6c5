// Checkpoints the session store refused because their session belongs to another agent. Only a
// session id ibex generated can get here (named ids are claimed before forwarding): someone named
// it before its first checkpoint (which creates the session row) landed. The turn was served but is
// not mixed into the other agent's session; it is counted and logged so an operator can see it happened.
import type { AppendResult, RefusedCheckpoint } from '../stores/ports.js';
import { ThrottledLog, type LogFn } from '../traces/log-throttle.js';

export class RefusedCheckpoints {
  /** Every refused checkpoint since start */
  total = 0;
  private last: RefusedCheckpoint | null = null;
  private readonly log: ThrottledLog;

  constructor(log: LogFn, intervalMs = 10_000) {
    this.log = new ThrottledLog(log, intervalMs);
  }

  /** Takes an append's result (bound, to use as a `.then` callback). */
  record = (result: AppendResult | void): void => {
    const refused = result?.refused ?? [];
    if (refused.length === 0) return;
    this.total += refused.length;
    this.last = refused[refused.length - 1]!;
    const r = this.last;
    this.log.hit(
      'warn',
      refused.length,
      (n) =>
        `sessions: ${n} checkpoint(s) not written: their session belongs to another agent ` +
        `(latest: session ${r.sessionId} of ${r.owner}, request ${r.requestId} of ${r.agent}; ${this.total} since start)`,
    );
  };
}
