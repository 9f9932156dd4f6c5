// Which ibex session (and so which agent) a provider reply id belongs to, so a Responses call that
// continues with `previous_response_id` (and no X-Ibex-Session) lands in the session of the turn it
// continues, and a call of another agent cannot continue it (its context is that agent's).
// In-process and bounded: a continuation that reaches another replica, or comes after this
// process forgot the id, starts a new session (docs/directives-and-sessions.md says so).
import { LRUCache } from 'lru-cache';

export interface ResponseLink {
  sessionId: string;
  agent: string;
}

export class ResponseSessions {
  private readonly links = new LRUCache<string, ResponseLink>({ max: 50_000 });

  get(responseId: string): ResponseLink | undefined {
    return this.links.get(responseId);
  }

  set(responseId: string, link: ResponseLink): void {
    this.links.set(responseId, link);
  }
}
