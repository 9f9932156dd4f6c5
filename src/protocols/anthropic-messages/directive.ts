// The agent's directive goes first in Anthropic's `system` (issue 13). The result is always the block
// form: the directive's own text block, then the caller's system exactly as sent (a string becomes one
// text block; blocks are kept as they are, with their cache_control). One shape means the directive
// block is always `system[0]`, and a caller's cache breakpoints still cover the same prefix plus ours.
import { isObject, type Json } from './wire.js';

export interface PlaceDirectiveOptions {
  /**
   * Mark the directive block with `cache_control: {type:'ephemeral'}` (issue 15, opt-in per upstream),
   * so the tools + directive prefix is cached across callers of the agent. Anthropic allows at most
   * four breakpoints per request; when the caller already uses four, none is added (the request
   * would otherwise be refused).
   */
  cacheControl?: boolean;
}

export const MAX_CACHE_BREAKPOINTS = 4;

export function placeDirective<B extends Json>(body: B, text: string | null, opts: PlaceDirectiveOptions = {}): B {
  // An empty directive would be an empty text block, which the API refuses.
  if (text === null || text === '') return body;
  const directive: Json = { type: 'text', text };
  if (opts.cacheControl && countBreakpoints(body) < MAX_CACHE_BREAKPOINTS) directive.cache_control = { type: 'ephemeral' };
  const caller = body.system;
  const rest: unknown[] =
    typeof caller === 'string' ? (caller === '' ? [] : [{ type: 'text', text: caller }]) : Array.isArray(caller) ? caller : [];
  return { ...body, system: [directive, ...rest] };
}

/** cache_control markers already in the request: top level, tools, system blocks, message blocks. */
export function countBreakpoints(body: Json): number {
  let n = isObject(body.cache_control) ? 1 : 0;
  const blocks = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const b of list) {
      if (!isObject(b)) continue;
      if (isObject(b.cache_control)) n++;
      // tool_result blocks may hold blocks with their own breakpoints
      if (Array.isArray(b.content)) blocks(b.content);
    }
  };
  blocks(body.tools);
  blocks(body.system);
  if (Array.isArray(body.messages)) for (const m of body.messages) if (isObject(m)) blocks(m.content);
  return n;
}
