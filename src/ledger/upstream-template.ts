// The body a turn sent upstream, stored without the messages it carried: they are in the ledger
// already, and storing them again per turn would bring back the O(turns²) growth. The template is
// the exact JSON text sent, where the messages' text is replaced by references (markers), so
// inflating it with the checkpoint's messages gives back the sent bytes exactly.
//
// A marker is U+0001, a spec, U+0001. JSON.stringify never writes a raw U+0001 (control characters
// are escaped inside strings), so a marker cannot be confused with the body's own text. Specs:
//   *N   the JSON texts of messages N, N+1, … joined by ','  (a chat `messages` array, a Responses `input`)
//   cN   the JSON string of message N's `content`          (Responses `instructions`, a string `input`)
// The template is built by search, for any protocol, and checked by inflating it: when the check
// fails the whole body is kept as it is (correct, just not deduplicated).
const MARK = '\u0001';
const MARKER_RE = /\u0001([*c])(\d+)\u0001/g;

const marker = (spec: string) => MARK + spec + MARK;

/** The template of `sent` given the JSON texts of the messages the checkpoint stores, in order. */
export function buildTemplate(sent: string, bodies: readonly string[]): string {
  let t = sent;
  let covered = bodies.length;
  // The longest run of messages that is a JSON array value in the body (usually all of them).
  for (let k = 0; k < Math.min(bodies.length, 3); k++) {
    const run = lastArrayOf(t, bodies, k);
    if (run === null) continue;
    t = t.slice(0, run.start) + ':[' + marker('*' + k) + ']' + t.slice(run.end);
    covered = k;
    break;
  }
  // Messages before that run whose content is a string somewhere in the body (instructions).
  for (let i = 0; i < covered; i++) {
    const content = contentOf(bodies[i]!);
    if (content === undefined) continue;
    const s = ':' + content;
    const at = t.indexOf(s);
    if (at === -1) continue;
    t = t.slice(0, at) + ':' + marker('c' + i) + t.slice(at + s.length);
  }
  // Each marker stands for exactly the text it replaced, so inflating gives back `sent` unless `sent`
  // held a U+0001 of its own (not valid JSON, but the check is cheap): only then inflate and compare.
  if (sent.indexOf(MARK) === -1) return t;
  return inflateTemplate(t, bodies) === sent ? t : sent;
}

/**
 * Where the last `:[bodies[k],bodies[k+1],…]` of `text` is, or null: what `text.lastIndexOf(':[' +
 * bodies.slice(k).join(',') + ']')` finds, without building that string (the whole history again).
 * A short head is searched for forwards (V8's lastIndexOf scans back char by char) and each place it
 * occurs checked in place, message by message, with slice equality (startsWith is many times slower
 * on long texts). For a 200 kB history this is ~10× less CPU than the joined search, which cost more
 * than serialising the body.
 */
function lastArrayOf(text: string, bodies: readonly string[], k: number): { start: number; end: number } | null {
  const head = ':[' + bodies[k]!.slice(0, HEAD_CHARS);
  let found: { start: number; end: number } | null = null;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    const end = arrayEnd(text, bodies, k, at + 2);
    if (end !== -1) found = { start: at, end };
  }
  return found;
}

/** Just past the `]` when `bodies[k…]` joined by commas and then `]` stand at `pos`; -1 when not. */
function arrayEnd(text: string, bodies: readonly string[], k: number, pos: number): number {
  for (let i = k; i < bodies.length; i++) {
    if (i > k && text.charCodeAt(pos++) !== COMMA) return -1;
    const b = bodies[i]!;
    if (text.slice(pos, pos + b.length) !== b) return -1;
    pos += b.length;
  }
  return text.charCodeAt(pos) === CLOSE_BRACKET ? pos + 1 : -1;
}

const HEAD_CHARS = 64;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/** The exact body sent: the template with its markers replaced by the messages' text. */
export function inflateTemplate(template: string, bodies: readonly string[]): string {
  if (template.indexOf(MARK) === -1) return template;
  return template.replace(MARKER_RE, (_, kind: string, n: string) => {
    const i = Number(n);
    if (kind === '*') return bodies.slice(i).join(',');
    const c = contentOf(bodies[i] ?? 'null');
    if (c === undefined) throw new Error(`ledger: template refers to the content of message ${i}, which has none`);
    return c;
  });
}

/** JSON text of a message's string `content`, undefined when it is not a string. */
function contentOf(body: string): string | undefined {
  if (body.indexOf('"content"') === -1) return undefined;
  const m = JSON.parse(body) as { content?: unknown } | null;
  return m && typeof m === 'object' && typeof m.content === 'string' ? JSON.stringify(m.content) : undefined;
}
