// Exact replay of a recorded turn. A checkpoint keeps the body sent upstream as a template over its
// messages (upstream-template.ts); inflated, it is the exact bytes that went out. To send the turn
// through the gateway again, the directive the gateway placed is taken out (the gateway places it
// again: the recorded version, or the one asked with --directive-version) and the model is set back
// to the one the caller named (the gateway routes it again), so an unchanged replay reaches the
// provider byte for byte as the original did.
import type { Checkpoint } from '../stores/ports.js';
import { callerInstructions } from '../protocols/openai-responses/directive.js';
import { messageText } from './message-body.js';
import { inflateTemplate } from './upstream-template.js';

/** The exact body the turn sent upstream; null when it was not kept (metadata mode, or written before the ledger). */
export function sentBody(cp: Checkpoint): string | null {
  if (cp.upstreamTemplate === undefined || cp.upstreamTemplate === null) return null;
  return inflateTemplate(cp.upstreamTemplate, cp.messages.map(messageText));
}

/** The gateway route of the turn: `/v1` + the provider path (`/v1/chat/completions`). */
export function routeOf(cp: Checkpoint): string {
  return '/v1' + (cp.upstreamPath ?? '/chat/completions');
}

export interface ReplayRequest {
  path: string;
  /** The caller's body to send to the gateway (JSON text) */
  body: string;
  headers: Record<string, string>;
}

export interface ReplayOptions {
  /** Send this model instead of the recorded one */
  model?: string;
  /** Place this directive version instead of the recorded one */
  directiveVersion?: number;
  /** The text of the recorded directive version (to find and take it out of the body) */
  recordedDirective: string | null;
}

/** The request that replays turn `turn` of `cp.sessionId` through the gateway; null when the turn has no recorded body. */
export function replayRequest(cp: Checkpoint, turn: number, opts: ReplayOptions): ReplayRequest | null {
  const sent = sentBody(cp);
  if (sent === null) return null;
  const body = JSON.parse(sent) as Record<string, unknown>;
  // Values are replaced in place (key order kept), so an unchanged replay serialises to the same bytes.
  if ('model' in body) body.model = opts.model ?? cp.model ?? body.model;
  if (cp.directiveVersion !== null && opts.recordedDirective !== null) removeDirective(cp.protocol ?? 'openai-chat', body, opts.recordedDirective);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-ibex-agent': cp.agent,
    'x-ibex-replay-of': `${cp.sessionId}:${turn}`,
  };
  const version = opts.directiveVersion ?? cp.directiveVersion;
  if (version !== null && version !== undefined) headers['x-ibex-directive-version'] = String(version);
  return { path: routeOf(cp), body: JSON.stringify(body), headers };
}

/** Takes out the directive the gateway placed: the inverse of each protocol's placeDirective. */
function removeDirective(protocol: string, body: Record<string, unknown>, directive: string): void {
  if (protocol === 'openai-responses') {
    const caller = callerInstructions(typeof body.instructions === 'string' ? body.instructions : null, directive);
    if (caller === null) delete body.instructions;
    else if (caller !== undefined) body.instructions = caller;
    return;
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return;
  const first = messages[0] as { role?: unknown; content?: unknown } | undefined;
  if (first && first.role === 'system' && first.content === directive) messages.shift();
}
