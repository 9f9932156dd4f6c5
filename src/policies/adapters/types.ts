// One adapter per wire format: reads a body into the normalised view and writes a policy's changes
// back into the body in that format's own fields. Bodies are plain JSON owned by the request, so the
// writers change them in place.
import type { PolicyMessage, PolicyTool, PolicyToolCall, RequestChanges } from '../types.js';
import type { Json } from './content.js';

export interface RequestParts {
  messages: PolicyMessage[];
  tools: PolicyTool[];
  toolCalls: PolicyToolCall[];
  maxTokens: number | null;
}

export interface WireAdapter {
  readRequest(body: Json): RequestParts;
  writeRequest(body: Json, changes: RequestChanges): void;
  /** Rewrites every assistant text of a complete (non-streamed) reply in place */
  mapReplyText(reply: Json, fn: (text: string) => string): void;
}

/** Tool definitions minus the named ones, shared by the formats whose tools are a list with names. */
export function withoutTools(tools: unknown, names: readonly string[], nameOf: (t: Json) => unknown): unknown {
  if (!Array.isArray(tools) || names.length === 0) return tools;
  return tools.filter((t: unknown) => !(t && typeof t === 'object' && names.includes(nameOf(t as Json) as string)));
}
