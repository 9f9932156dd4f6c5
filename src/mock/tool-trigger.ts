// The deterministic "model decides to call a tool" trigger, the same in every protocol: when the
// request declares tools and the last input is a user text whose every non-empty line reads
// `call:NAME {json}` (the JSON an object, optional), the mock answers with those tool calls
// instead of the echo. A tool result as the last input never triggers, so a test can do the
// round trip: call → tool result → echo reply.

export interface ToolCallSpec {
  name: string;
  /** the JSON text after the name, trimmed (`{}` when absent): sent verbatim as arguments */
  arguments: string;
  /** the same, parsed (Anthropic's `input`) */
  input: Record<string, unknown>;
}

const LINE = /^call:([A-Za-z0-9_.:-]{1,128})(?:\s+([\s\S]*))?$/;

/** Parses the trigger text; undefined when it is not one (any line that is not a valid call). */
export function parseToolCalls(text: string | undefined): ToolCallSpec[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return undefined;
  const calls: ToolCallSpec[] = [];
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) return undefined;
    const args = m[2]?.trim() || '{}';
    let input: unknown;
    try {
      input = JSON.parse(args);
    } catch {
      return undefined;
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    calls.push({ name: m[1]!, arguments: args, input: input as Record<string, unknown> });
  }
  return calls;
}

/** True when the request declares at least one tool. */
export function hasTools(body: Record<string, unknown>): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0;
}

/** The text of a message `content`: a string, or the `text` of its text parts joined; undefined if none. */
export function contentText(content: unknown, textTypes: readonly string[]): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text: string | undefined;
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const p = part as Record<string, unknown>;
    if (textTypes.includes(p.type as string) && typeof p.text === 'string') text = (text ?? '') + p.text;
  }
  return text;
}

/**
 * The tool calls a request triggers: `lastUser` extracts the text of the last input when it is
 * a user message (undefined otherwise, e.g. for a tool result).
 */
export function triggeredCalls(body: Record<string, unknown>, lastUserText: string | undefined): ToolCallSpec[] | undefined {
  if (!hasTools(body)) return undefined;
  return parseToolCalls(lastUserText);
}

/**
 * The structured-output trigger: when the last user text starts with `json:`, the reply text is
 * exactly what follows (trimmed), in every protocol, streamed or not — so a test of `responses.parse`,
 * `generateObject` or a JSON schema response gets schema-valid JSON instead of the echo.
 */
export function jsonReplyText(lastUserText: string | undefined): string | undefined {
  if (lastUserText === undefined) return undefined;
  const t = lastUserText.trimStart();
  return t.startsWith('json:') ? t.slice(5).trim() : undefined;
}
