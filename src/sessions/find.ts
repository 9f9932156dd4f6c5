// `ibex sessions show ID` and GET /admin/v1/sessions/{id} take a session id, or a Responses reply id
// (`resp_…`) or conversation id one of its turns created or continued: an operator handed an id from
// a client's logs finds the session of that turn without knowing the session's id.
import type { Session, SessionStore } from '../stores/ports.js';

export async function findSession(sessions: Pick<SessionStore, 'getSession' | 'findResponseLink'>, id: string): Promise<Session | null> {
  const session = await sessions.getSession(id);
  if (session) return session;
  const link = await sessions.findResponseLink(id);
  return link ? sessions.getSession(link.sessionId) : null;
}
