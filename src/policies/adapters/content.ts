// Helpers shared by the wire adapters: the text of a message `content` (a string or a list of parts)
// and a rewrite of it that keeps every non-text part as it was.

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The text of `content`: a string, or the `text` of its parts whose type is in `textTypes`, joined. */
export function contentText(content: unknown, textTypes: readonly string[]): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const p of content) if (isObject(p) && textTypes.includes(p.type as string) && typeof p.text === 'string') out += p.text;
  return out;
}

/** `content` with every text rewritten by `fn` (the same value when nothing changed). */
export function mapContent(content: unknown, textTypes: readonly string[], fn: (text: string) => string): unknown {
  if (typeof content === 'string') return fn(content);
  if (!Array.isArray(content)) return content;
  let changed = false;
  const out = content.map((p: unknown) => {
    if (!isObject(p) || !textTypes.includes(p.type as string) || typeof p.text !== 'string') return p;
    const text = fn(p.text);
    if (text === p.text) return p;
    changed = true;
    return { ...p, text };
  });
  return changed ? out : content;
}

/** A positive integer field, else null. */
export function intField(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;
}
