// What every store can hold: text without NUL and without lone UTF-16 surrogates. Callers put both
// in stores (a `model` or message with "\u0000" in the request JSON, an upstream reply, a hostile
// header), and each store has its own way of refusing them: Postgres text refuses NUL (22021) and
// jsonb refuses the "\u0000" and lone-surrogate escapes JSON.stringify writes; ClickHouse's JSON
// input refuses a lone-surrogate escape (code 25). A refused value fails its whole batch, so every
// adapter's row/param builder passes its text through here and all stores agree on what is kept.
//
// Both are replaced by U+FFFD (the replacement character), never dropped, so a reader sees that
// something was there. Valid surrogate pairs (emoji) are kept. The common case (clean text) costs
// two native scans and returns the same string: this runs for every trace and checkpoint.

const REPLACEMENT = '\uFFFD';

// ES2024 string methods (Node 20 has them; the compile target's lib does not declare them yet).
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** `s` with NUL and lone surrogates replaced by U+FFFD; the same string when it has neither. */
export function storeText(s: string): string {
  // isWellFormed first: it is free for one-byte (Latin-1) strings, which cannot hold a surrogate.
  if ((s as unknown as WellFormed).isWellFormed() && s.indexOf('\u0000') === -1) return s;
  return (s as unknown as WellFormed).toWellFormed().replaceAll('\u0000', REPLACEMENT);
}

/** storeText for a nullable column; anything not a string (a hand-edited spool line) is made one. */
export function storeTextOrNull(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return storeText(typeof s === 'string' ? s : String(s));
}

// A JSON text from JSON.stringify carries NUL and lone surrogates as escapes (`\u0000`, `\ud800`),
// never raw (a raw NUL is not even valid JSON). Quick tests first: most texts have no `\u` escape.
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;
// Every escape, left to right, so an escaped backslash (`\\`) is consumed whole and a following
// `u0000` is seen as the plain text it is. A surrogate pair written as two escapes is one match.
const ESCAPE = /\\(?:u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|[0-9a-fA-F]{4})|[^u])/g;
const LONE_OR_NUL = /^\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})$/;

/**
 * A JSON text made by JSON.stringify, with the `\u0000` and lone-surrogate escapes replaced by the
 * escape of U+FFFD, so Postgres jsonb takes it. Parsed, it equals storeText applied to each string
 * (keys included) of the value. Costs one indexOf when there is no `\u` escape at all.
 */
export function storeJson(json: string): string {
  if (json.indexOf('\\u') === -1 || !SUSPECT_ESCAPE.test(json)) return json;
  return json.replace(ESCAPE, (esc) => (LONE_OR_NUL.test(esc) ? '\\ufffd' : esc));
}
