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
import { inboundProtocol, routeOfProtocol } from '../protocols/inbound.js';

/** The exact body the turn sent upstream; null when it was not kept (metadata mode, or written before the ledger). */
export function sentBody(cp: Checkpoint): string | null {
  if (cp.upstreamTemplate === undefined || cp.upstreamTemplate === null) return null;
  return inflateTemplate(cp.upstreamTemplate, cp.messages.map(messageText));
}

/** The gateway route the turn came in on (`/v1/chat/completions`, `/v1/messages`, …): its protocol's. */
export function routeOf(cp: Checkpoint): string {
  const protocol = protocolOf(cp);
  // Checkpoints of an unknown protocol (none are written) fall back to the recorded path.
  return protocol ? routeOfProtocol(protocol) : '/v1' + (cp.upstreamPath ?? '/chat/completions');
}

/**
 * Whether the provider received the turn translated into its own API (a chat request an Anthropic
 * model served): the stored body is then the caller's, which replay sends again, not the provider's.
 */
export function wasTranslated(cp: Checkpoint): boolean {
  const protocol = protocolOf(cp);
  return !!protocol && !!cp.upstreamPath && cp.upstreamPath !== protocol.upstreamPath;
}

function protocolOf(cp: Checkpoint) {
  return cp.protocol ? inboundProtocol(cp.protocol) : undefined;
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
  if (protocol === 'anthropic-messages') {
    // placeDirective made `system` blocks with the directive's first: the caller's blocks are the rest.
    const system = body.system;
    if (!Array.isArray(system)) return;
    const first = system[0] as { type?: unknown; text?: unknown } | undefined;
    if (!first || first.type !== 'text' || first.text !== directive) return;
    if (system.length === 1) delete body.system;
    else body.system = system.slice(1);
    return;
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return;
  const first = messages[0] as { role?: unknown; content?: unknown } | undefined;
  if (first && first.role === 'system' && first.content === directive) messages.shift();
}
