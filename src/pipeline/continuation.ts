// Responses continuations in the request path (`previous_response_id`, `conversation`): which earlier
// turn a request continues and whose it is, where the state a reply creates lives, the turn ibex keeps
// when it translated, and what each turn records so that every gateway process can answer the same
// (docs/adr/0014-response-links-on-checkpoints.md). handle.ts calls these at its stages; a protocol
// without `sessionLink` (everything but Responses) never gets here.
import type { FastifyRequest } from 'fastify';
import { IbexError } from '../errors.js';
import type { Agent, ResponseStateAt, TranslatedTurnRecord } from '../stores/ports.js';
import type { InboundProtocol } from '../protocols/types.js';
import { storedLinkId, type ResponseLink } from '../sessions/response-links.js';
import { cacheStatusOf } from './cache-stage.js';
import type { RequestContext } from './context.js';
import type { PipelineDeps } from './handle.js';

/** What one request knows of the conversation it continues, filled in as the stages run. */
export interface Continuation {
  /** The earlier reply or conversation id the request names; null when it continues nothing */
  link: string | null;
  /** Whose it is, when anyone recorded it */
  linkedTo: ResponseLink | undefined;
  /** A replay (`ibex sessions replay`): a session of its own, which claims no link */
  replay: boolean;
  /** Where the reply's state lives upstream (a reply ibex did not translate) */
  stateAt: ResponseStateAt | null;
  /** The turn as its continuations resend it (a reply ibex translated, agents in `full` content mode) */
  translatedTurn: TranslatedTurnRecord | null;
}

export const noContinuation = (): Continuation => ({ link: null, linkedTo: undefined, replay: false, stateAt: null, translatedTurn: null });

/**
 * Reads the id `body` continues and whose it is (memory, else the session store). Throws 403 when it
 * is another agent's: continuing it would hand this agent that one's context (at the provider, or in
 * ibex's translated turns), whatever session the caller names.
 */
export async function resolveContinuation(
  deps: Pick<PipelineDeps, 'responseLinks'>,
  protocol: InboundProtocol,
  body: Record<string, unknown>,
  agent: Agent,
  c: Continuation,
): Promise<void> {
  c.link = protocol.sessionLink?.(body) ?? null;
  if (!c.link) return;
  // A reply id nobody recorded may be one another replica served a moment ago, still in its
  // write-behind: looked for again before it is treated as unknown (which would start a new session,
  // skip the owner check, and for a key pool or a translated model, fail).
  const late = !deps.responseLinks.stateAt(c.link) && protocol.continuedReply?.(body) === c.link;
  const known = deps.responseLinks.resolve(c.link, { late });
  c.linkedTo = known instanceof Promise ? await known : known;
  if (c.linkedTo && c.linkedTo.agent !== agent.name) {
    throw new IbexError('IBEX_ERR_AGENT_FORBIDDEN', {
      message: 'This request continues a response of another agent (previous_response_id or conversation); start a new conversation.',
      param: null,
    });
  }
}

/**
 * After a reply: the state it created lives in the account that served it (a translated call keeps
 * none), and a translated one lives here: the turn's items, for a continuation of it.
 */
export function keepReplyState(
  deps: Pick<PipelineDeps, 'responseLinks' | 'translatedTurns'>,
  protocol: InboundProtocol,
  ctx: RequestContext,
  req: FastifyRequest,
  c: Continuation,
  reply: {
    body: Record<string, unknown>;
    served: { provider: string; translated: boolean };
    keyIndex: number | null;
    /** Whether the served target was the one holding the continued state */
    pinned: boolean;
    /** The earlier turns ibex sent before this one's input (a translated continuation) */
    history: unknown[] | undefined;
  },
): void {
  const agent = ctx.agent!;
  if (!reply.served.translated) {
    const stateAt = { provider: reply.served.provider, keyIndex: reply.keyIndex };
    c.stateAt = stateAt;
    if (ctx.responseId) deps.responseLinks.setStateAt(ctx.responseId, stateAt);
    if (c.link && !reply.pinned) deps.responseLinks.setStateAt(c.link, stateAt);
  }
  if (protocol.turnItems && reply.served.translated && ctx.responseId && ctx.replyParts && !ctx.errorCode) {
    const turn = protocol.turnItems(reply.body, ctx.replyParts);
    if (!turn) return;
    const items = [...turn.input, ...turn.output];
    // Its weight: the body's declared size, unless it was chunked or compressed (then measured)
    const declared = req.headers['content-length'] !== undefined && req.headers['content-encoding'] === undefined;
    const weight = (declared ? ctx.bytesIn : JSON.stringify(items).length) + ctx.bytesOut;
    const previous = reply.history ? c.link : null;
    deps.translatedTurns?.record(ctx.responseId, previous, items, weight, agent.name);
    // ...and on its checkpoint, for the processes that do not hold it: the output beside the
    // checkpoint's messages, whose tail is the input (not in another content mode: the turn is its content)
    const skip = (ctx.messages?.length ?? 0) - turn.input.length;
    if ((agent.contentMode ?? 'full') === 'full' && skip >= 0) c.translatedTurn = { previous, skip, output: turn.output };
  }
}

/**
 * Once the reply is ready to go out (or the request failed): the links this process answers from
 * memory, the same on the turn's checkpoint (ctx.responseLink) for the processes that do not hold
 * them, and with Redis, shared with those at once.
 */
export function recordLinks(deps: Pick<PipelineDeps, 'responseLinks'>, protocol: InboundProtocol, ctx: RequestContext, c: Continuation): void {
  if (!protocol.sessionLink || !ctx.sessionId || !ctx.agent) return;
  const to = { sessionId: ctx.sessionId, agent: ctx.agent.name };
  if (ctx.responseId) deps.responseLinks.set(ctx.responseId, to);
  // A conversation id (or a response id nobody had recorded) is this agent's from now on: its next
  // turns join this session, and no other agent continues it. (Not from a replay.)
  const claims = c.link !== null && !c.linkedTo && !c.replay;
  if (claims) deps.responseLinks.set(c.link!, to);
  // A cache hit repeats an earlier reply's id: the turn that created it keeps it.
  const responseId = cacheStatusOf(ctx) === 'hit' ? null : storedLinkId(ctx.responseId);
  const link = (ctx.responseLink = {
    responseId,
    continuedId: claims ? storedLinkId(c.link) : null,
    stateAt: responseId ? c.stateAt : null,
    translatedTurn: responseId ? c.translatedTurn : null,
  });
  // The client's next turn may reach another replica before this checkpoint is written: with Redis
  // they learn it now. Not a reply ibex translated (no state upstream): its continuation needs the
  // turn, which only the checkpoint holds, so it waits for that (resolve's `late`).
  if (ctx.upstreamStart === null) return; // no checkpoint will record it either
  const shared = { ...to, stateAt: link.stateAt };
  if (link.responseId && link.stateAt) deps.responseLinks.share(link.responseId, shared);
  if (link.continuedId) deps.responseLinks.share(link.continuedId, shared);
}
