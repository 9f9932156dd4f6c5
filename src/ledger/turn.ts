// One turn of a session for `ibex sessions show --turn N [--upstream]` and `sessions replay`.
import { UsageError, UserError } from '../errors.js';
import { findSession } from '../sessions/find.js';
import type { Checkpoint, DirectiveStore, SessionStore } from '../stores/ports.js';
import { routeOf, sentBody, wasTranslated } from './replay.js';

/**
 * Turn `turn` (1-based, conversation order as `sessions show` numbers it) of the session `id` names
 * (src/sessions/find.ts: a session id, or a Responses reply or conversation id). Without `turn`, `id`
 * must be the reply id of the turn itself. A user error when absent.
 */
export async function findTurn(sessions: SessionStore, id: string, turn: number | undefined): Promise<Checkpoint> {
  const session = await findSession(sessions, id);
  if (!session) throw new UserError(`no session "${id}"`, 'see `ibex sessions list`; a Responses id (resp_…) finds the session of its turn');
  const cps = await sessions.checkpoints(session.id);
  if (turn === undefined) {
    const created = cps.find((c) => c.responseId === id);
    if (!created) throw new UsageError(`which turn of session "${session.id}"? pass --turn N`, `its turns are 1 to ${cps.length}`);
    return created;
  }
  const cp = cps.find((c) => c.seq === turn);
  if (!cp) throw new UserError(`session "${session.id}" has no turn ${turn}`, `its turns are 1 to ${cps.length}`);
  return cp;
}

export interface UpstreamView {
  sessionId: string;
  turn: number;
  requestId: string;
  agent: string;
  protocol: string | null;
  /** The gateway route the caller used; upstream it went to the provider's base URL + upstreamPath */
  route: string;
  upstreamPath: string | null;
  /** The provider received the body translated into its API; `body` is the caller's (what replay sends) */
  translated: boolean;
  provider: string | null;
  /** The model the caller named, and the one the provider served */
  model: string | null;
  servedModel: string | null;
  directiveVersion: number | null;
  /** The directive text injected (that version's text), null when none */
  directive: string | null;
  messages: unknown[];
  /**
   * The exact JSON text sent upstream (before translation, when `translated`); null when not kept
   * (metadata mode, or recorded before the ledger)
   */
  body: string | null;
  replayOf: string | null;
  contentMode: string;
}

/** Everything that went upstream for a turn. */
export async function upstreamView(cp: Checkpoint, directives: DirectiveStore): Promise<UpstreamView> {
  const d = cp.directiveVersion === null ? null : await directives.get(cp.agent, cp.directiveVersion);
  return {
    sessionId: cp.sessionId,
    turn: cp.seq,
    requestId: cp.requestId,
    agent: cp.agent,
    protocol: cp.protocol ?? null,
    route: routeOf(cp),
    upstreamPath: cp.upstreamPath ?? null,
    translated: wasTranslated(cp),
    provider: cp.provider ?? null,
    model: cp.model,
    servedModel: cp.servedModel ?? null,
    directiveVersion: cp.directiveVersion,
    directive: d?.text ?? null,
    messages: cp.messages,
    body: sentBody(cp),
    replayOf: cp.replayOf ?? null,
    contentMode: cp.contentMode ?? 'full',
  };
}

/** The checkpoint as `sessions show` prints it: without the internal body template. */
export function shownCheckpoint(cp: Checkpoint): Omit<Checkpoint, 'upstreamTemplate'> {
  const { upstreamTemplate: _t, ...rest } = cp;
  return rest;
}
