// Which ibex session a provider reply id belongs to, so a Responses call that continues with
// `previous_response_id` (and no X-Ibex-Session) lands in the session of the turn it continues.
// In-process and bounded: a continuation that reaches another replica, or comes after this
// process forgot the id, starts a new session (docs/directives-and-sessions.md says so).
import { LRUCache } from 'lru-cache';

export class ResponseSessions {
  private readonly links = new LRUCache<string, string>({ max: 50_000 });

  get(responseId: string): string | undefined {
    return this.links.get(responseId);
  }

  set(responseId: string, sessionId: string): void {
    this.links.set(responseId, sessionId);
  }
}
