// The ibex mock upstream answers `echo:` + JSON of the messages it received; this reads them back,
// so smoke can see what the gateway forwarded. Anything else (a real provider) → null.
const ECHO_PREFIX = 'echo:';

export function parseEcho(content: string): unknown[] | null {
  if (!content.startsWith(ECHO_PREFIX)) return null;
  try {
    const parsed: unknown = JSON.parse(content.slice(ECHO_PREFIX.length));
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** The mock's Responses echo (`echo:` + JSON of {instructions, input}); null for anything else. */
export function parseResponsesEcho(content: string): { instructions: string | null; input: unknown } | null {
  if (!content.startsWith(ECHO_PREFIX)) return null;
  try {
    const parsed = JSON.parse(content.slice(ECHO_PREFIX.length)) as { instructions?: unknown; input?: unknown };
    return parsed && typeof parsed === 'object' && 'input' in parsed
      ? { instructions: typeof parsed.instructions === 'string' ? parsed.instructions : null, input: parsed.input }
      : null;
  } catch {
    return null;
  }
}
