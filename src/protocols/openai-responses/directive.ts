// The directive goes first in `instructions`. The Responses API does not carry `instructions` over
// with `previous_response_id`, so placing it on every request gives each turn the current directive
// exactly once (no stale copy lingers in the provider's stored context).
//
// The join is fixed so that replay rebuilds the same bytes: directive, DIRECTIVE_SEPARATOR (two
// newlines, i.e. one blank line), then the caller's instructions verbatim. A caller's instructions
// that are absent, null or '' add nothing: the directive is then the whole of `instructions`.
import type { ResponsesBody } from './parse.js';

export const DIRECTIVE_SEPARATOR = '\n\n';

/** A new body with the directive placed; the caller's other fields are untouched. No directive → the body itself. */
export function placeDirective<B extends ResponsesBody>(body: B, text: string | null): B {
  if (text === null || text === '') return body;
  return { ...body, instructions: joinInstructions(text, body.instructions) };
}

/** The `instructions` ibex sends for a directive and the caller's own instructions. */
export function joinInstructions(directive: string, callerInstructions: string | null | undefined): string {
  return typeof callerInstructions === 'string' && callerInstructions !== '' ? directive + DIRECTIVE_SEPARATOR + callerInstructions : directive;
}

/**
 * The inverse of joinInstructions, for replay under another directive version: the caller's own
 * instructions out of the recorded `instructions`, given the directive text that was placed. null when
 * the caller sent none; undefined when `sent` does not start with that directive (it was not placed).
 */
export function callerInstructions(sent: string | null, directive: string): string | null | undefined {
  if (sent === null) return undefined;
  if (sent === directive) return null;
  return sent.startsWith(directive + DIRECTIVE_SEPARATOR) ? sent.slice(directive.length + DIRECTIVE_SEPARATOR.length) : undefined;
}
