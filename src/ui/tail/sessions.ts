// The sessions view of `ibex tail`, derived client-side from the live trace events: each trace that
// carries a session id updates that session's row (agent, directive version, turns, tokens, cost,
// last activity) and appends a turn to its timeline. Pure logic, bounded whatever the traffic.
import type { Trace } from '../../stores/ports.js';

/** Sessions kept; the least recently active go first. */
const MAX_SESSIONS = 500;
/** Turns kept per session for the conversation view when the store cannot be read (`--url`). */
const MAX_TURNS = 200;

export interface TurnEvent {
  requestId: string;
  startedAt: number;
  status: number;
  errorCode: string | null;
  stream: boolean;
  model: string | null;
  directiveVersion: number | null;
  totalTokens: number | null;
  totalMs: number;
}

export interface LiveSession {
  id: string;
  agent: string | null;
  /** The version served by the latest turn */
  directiveVersion: number | null;
  turns: number;
  errors: number;
  tokens: number;
  /** null until a trace carries a cost (pricing configured) */
  costUsd: number | null;
  firstAt: number;
  lastAt: number;
  lastStatus: number;
  timeline: TurnEvent[];
}

export class SessionTracker {
  /** insertion order = least recently active first (re-inserted on activity) */
  private readonly sessions = new Map<string, LiveSession>();
  /** bumped on every change, so a view can tell whether it needs to re-read */
  revision = 0;

  add(t: Trace): void {
    if (!t.sessionId) return;
    let s = this.sessions.get(t.sessionId);
    if (s) this.sessions.delete(t.sessionId);
    else {
      s = {
        id: t.sessionId,
        agent: t.agent,
        directiveVersion: null,
        turns: 0,
        errors: 0,
        tokens: 0,
        costUsd: null,
        firstAt: t.startedAt,
        lastAt: t.startedAt,
        lastStatus: t.status,
        timeline: [],
      };
    }
    this.sessions.set(t.sessionId, s);
    s.turns++;
    if (t.status >= 400 || t.errorCode) s.errors++;
    s.tokens += t.totalTokens ?? 0;
    const cost = (t as Trace & { costUsd?: number | null }).costUsd;
    if (typeof cost === 'number') s.costUsd = (s.costUsd ?? 0) + cost;
    if (t.directiveVersion !== null) s.directiveVersion = t.directiveVersion;
    s.lastAt = Math.max(s.lastAt, t.startedAt + t.totalMs);
    s.lastStatus = t.status;
    s.timeline.push({
      requestId: t.requestId,
      startedAt: t.startedAt,
      status: t.status,
      errorCode: t.errorCode,
      stream: t.stream,
      model: t.model,
      directiveVersion: t.directiveVersion,
      totalTokens: t.totalTokens,
      totalMs: t.totalMs,
    });
    if (s.timeline.length > MAX_TURNS) s.timeline.shift();
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.revision++;
  }

  get(id: string): LiveSession | undefined {
    return this.sessions.get(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Most recently active first, optionally one agent's, at most `limit`. */
  list(limit: number, agent: string | null = null): LiveSession[] {
    const all = [...this.sessions.values()];
    const out: LiveSession[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const s = all[i]!;
      if (agent === null || s.agent === agent) out.push(s);
    }
    return out;
  }
}
