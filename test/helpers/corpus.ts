// A deterministic corpus of malformed HTTP requests and CLI invocations for the bad-input tests, and a
// raw-socket HTTP client to send them (raw, because a well-behaved client such as undici refuses to send
// most of them: duplicate Authorization headers, control characters, latin-1 bytes, broken framing).
//
// Every case carries its own expectation, decided here from the contract (docs/errors.md), never from
// the gateway's code: for "broken JSON" the oracle is JSON.parse itself; for shape errors it is the
// documented `param`. Cases that look malformed but are valid for ibex (it checks only what it relies
// on and leaves the rest to the provider) are marked `ok` on purpose, each with the reason.
import net from 'node:net';
import { crc32 } from 'node:zlib';

// ---------------------------------------------------------------------------------------------------
// Seeded randomness: the same seed gives the same corpus on every machine.

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chars(alphabet: string, len: number): string {
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

// ---------------------------------------------------------------------------------------------------
// PATs built from the published format (`ibex_pat_` + 30 base62 + 6 base62 CRC32 of the random part),
// independently of src/auth/pat.ts, so a drift between the two shows up as a failing case.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const PAT_PREFIX = 'ibex_pat_';

export function patChecksum(random: string): string {
  let n = crc32(random) >>> 0;
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A token with the right shape and a correct checksum that was never issued. */
function wellFormedPat(rng: Rng): string {
  const random = rng.chars(BASE62, 30);
  return PAT_PREFIX + random + patChecksum(random);
}

/** `n` distinct never-issued, well-formed PATs from a seed. */
export function wellFormedPats(seed: number, n: number): string[] {
  const rng = new Rng(seededRandom(seed));
  return Array.from({ length: n }, () => wellFormedPat(rng));
}

// ---------------------------------------------------------------------------------------------------
// Cases

export type Expectation =
  /** ibex answers with an OpenAI-shaped error: `{error:{message,type,code,param}}` */
  | { kind: 'error'; status: number; code?: string; param?: string | null }
  /** The request is valid for ibex (see `why`): it is forwarded and the mock upstream answers 200. */
  | { kind: 'ok'; why: string; requestIdEcho?: string | false }
  /**
   * Broken HTTP rejected by Node's parser before any route runs (ibex's clientErrorHandler answers):
   * the status is asserted, and the body must be OpenAI-shaped like every other error.
   */
  | { kind: 'http'; status: number | number[] };

export interface HttpCase {
  id: number;
  category: string;
  name: string;
  /** Exact bytes to send. */
  bytes: Buffer;
  /** Half-close the socket after writing (a truncated body needs the EOF to be noticed). */
  halfClose?: boolean;
  expect: Expectation;
  /**
   * Cases that once exposed a bug (named after it; fixed in 4452767): the main run includes them and a
   * focused regression test in bad-input.test.ts runs them on their own.
   */
  regression?: string;
  /** Large cases are sent alone, not in parallel with the rest. */
  large?: boolean;
  /**
   * The server may reset the connection instead of the answer arriving: on a body error fastify answers
   * early with `Connection: close` and Node closes a socket that still has unread body bytes, so TCP
   * sends RST, which can destroy the 413 before the client read it. Only for oversized bodies that
   * are really sent; the test still requires most such cases to see their 413.
   */
  resetAllowed?: boolean;
}

export interface CorpusOptions {
  seed: number;
  /** A valid PAT bound to exactly one agent, so validation after auth is exercised. */
  token: string;
  /** The agent `token` is bound to. */
  agent: string;
  /** The gateway's body limit in bytes (IBEX_BODY_LIMIT). */
  bodyLimit: number;
}

const CRLF = '\r\n';
const OK_BODY = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello corpus' }] };
const OK_JSON = JSON.stringify(OK_BODY);

type HeaderList = [string, string | Buffer][];

/**
 * Builds an HTTP/1.1 request, by default with `Connection: close` (one request per connection).
 * `keepAlive` leaves it out, as SDKs do: a server that answers an oversized body early then keeps
 * reading (and discarding) it instead of closing a socket with unread data, which resets the
 * connection and can destroy the answer in flight (see docs/security.md, body limit).
 */
export function buildRequest(
  method: string,
  path: string,
  headers: HeaderList,
  body?: Buffer | string,
  opts: { contentLength?: boolean; keepAlive?: boolean } = {},
): Buffer {
  const parts: Buffer[] = [Buffer.from(`${method} ${path} HTTP/1.1${CRLF}Host: 127.0.0.1${CRLF}${opts.keepAlive ? '' : `Connection: close${CRLF}`}`, 'latin1')];
  for (const [name, value] of headers) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from(CRLF));
  }
  const b = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (b !== undefined && opts.contentLength !== false) parts.push(Buffer.from(`Content-Length: ${b.length}${CRLF}`));
  parts.push(Buffer.from(CRLF));
  if (b !== undefined) parts.push(b);
  return Buffer.concat(parts);
}

/** JSON.parse as the server does after decoding the body as UTF-8: the oracle for "broken JSON". */
function parsesAsJson(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

const CONTENT_TYPES: (string | null)[] = ['application/json', 'text/plain', null, 'application/x-www-form-urlencoded', 'garbage/☃'];

export function generateHttpCorpus(o: CorpusOptions): HttpCase[] {
  const rng = new Rng(seededRandom(o.seed));
  const cases: HttpCase[] = [];
  const auth: HeaderList = [['Authorization', `Bearer ${o.token}`]];
  const add = (c: Omit<HttpCase, 'id'>) => cases.push({ id: cases.length, ...c });
  const jsonHeaders = (ct: string | null): HeaderList => (ct === null ? [] : [['Content-Type', Buffer.from(ct, 'utf8')]]);
  const chat = (headers: HeaderList, body?: Buffer | string) => buildRequest('POST', '/v1/chat/completions', headers, body);
  const badRequest = (param?: string | null): Expectation => ({ kind: 'error', status: 400, code: 'invalid_request', ...(param !== undefined ? { param } : {}) });
  const unauthorized: Expectation = { kind: 'error', status: 401, code: 'invalid_api_key' };

  // 1. Broken JSON: random mutations of a valid body, kept only when JSON.parse rejects the result.
  const mutate = (text: string): Buffer => {
    const b = Buffer.from(text, 'utf8');
    const op = rng.int(0, 5);
    const at = rng.int(0, b.length - 1);
    switch (op) {
      case 0:
        return b.subarray(0, at); // truncated
      case 1:
        return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]); // one byte deleted
      case 2:
        return Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(['{', '}', '[', ']', '"', ',', ':', '\\', 'x', '0', ' nul', 'tru'])), b.subarray(at)]);
      case 3: {
        const c = Buffer.from(b);
        c[at] = rng.int(0, 255); // one byte replaced by anything, invalid UTF-8 included
        return c;
      }
      case 4:
        return Buffer.concat([b, Buffer.from(rng.pick([',', '}', ']', ' x', '{}', '\u0000']))]); // trailing garbage
      default:
        return Buffer.concat([Buffer.from(rng.pick(["'", '{{', '[', 'NaN', '\u0000', ')]}\'\n'])), b]); // leading garbage
    }
  };
  for (let n = 0; n < 420; ) {
    const bytes = mutate(OK_JSON);
    if (bytes.length === 0 || parsesAsJson(bytes)) continue;
    const withToken = n % 4 !== 3;
    const ct = CONTENT_TYPES[n % CONTENT_TYPES.length]!;
    add({
      category: 'broken-json',
      name: `mutation #${n} (${withToken ? 'valid PAT' : 'no token'}, content-type ${ct ?? 'none'})`,
      bytes: chat([...(withToken ? auth : []), ...jsonHeaders(ct)], bytes),
      // The token is checked before the body is read (onRequest hook): without one, 401 whatever the body.
      expect: withToken ? badRequest() : unauthorized,
    });
    n++;
  }
  for (const text of ['', ' ', '{', '}', '[', '"', 'nul', 'undefined', "{'model':'m'}", '{"model":"m",}', '{"a":1}{"b":2}', '\u0000', '{"model":"m","messages":[{"role":"user","content":"x"}]', '0x10', '.5', '--1', '1e', '"\\x"', '"\\u12"', '{"a":"\t"}', '{"a":"\n"}']) {
    add({ category: 'broken-json', name: `literal ${JSON.stringify(text)}`, bytes: chat([...auth, ['Content-Type', 'application/json']], text), expect: badRequest() });
  }

  // 2. Valid JSON of the wrong shape, with a valid PAT: every field ibex relies on, every wrong type.
  const withBody = (name: string, body: unknown, expect: Expectation, category = 'wrong-type') => {
    add({ category, name, bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify(body)), expect });
  };
  const msg = (content: unknown = 'x', role: unknown = 'user') => ({ role, content });
  const WRONG: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, '', 'str', [], [1], {}, { a: 1 }];
  for (const root of [null, true, 0, 'str', [], [OK_BODY], 1e308]) withBody(`root ${JSON.stringify(root)}`, root, badRequest('body'));
  for (const model of [...WRONG.filter((v) => typeof v !== 'string'), '', 'm'.repeat(257), undefined]) {
    withBody(`model ${JSON.stringify(model)?.slice(0, 40)}`, { model, messages: [msg()] }, badRequest('model'));
  }
  for (const messages of [...WRONG.filter((v) => !Array.isArray(v)), [], undefined]) {
    withBody(`messages ${JSON.stringify(messages)}`, { model: 'm', messages }, badRequest('messages'));
  }
  for (let i = 0; i < 80; i++) {
    // a bad message hidden among good ones: `param` must name its index
    const count = rng.int(1, 8);
    const bad = rng.int(0, count - 1);
    const messages: unknown[] = Array.from({ length: count }, () => msg());
    const kind = rng.int(0, 1);
    if (kind === 0) {
      messages[bad] = rng.pick([null, 1, 'str', [], [msg()], true]);
      withBody(`messages[${bad}] not an object (${i})`, { model: 'm', messages }, badRequest(`messages[${bad}]`));
    } else {
      const role = rng.pick([undefined, null, 1, true, '', {}, [], ['user']]);
      messages[bad] = role === undefined ? { content: 'no role' } : msg('x', role);
      withBody(`messages[${bad}].role ${JSON.stringify(role)} (${i})`, { model: 'm', messages }, badRequest(`messages[${bad}].role`));
    }
  }
  for (const stream of ['yes', 'true', 1, 0, null, {}, [], 'false']) {
    withBody(`stream ${JSON.stringify(stream)}`, { ...OK_BODY, stream }, badRequest('stream'));
  }
  // Fields ibex does not check: the provider judges them (and its 400 is passed through). The mock
  // upstream accepts them, so these must be forwarded: a 200, deliberately.
  const providerJudges = 'ibex validates only model, messages[].role and stream; other fields are the provider\'s to judge';
  for (const content of [1, null, true, {}, [], [{ type: 'text', text: 'x' }], [{ type: 'image_url', image_url: 'garbage' }], '\u0000\u001b[2J', '\ud800']) {
    withBody(`content ${JSON.stringify(content)}`, { model: 'm', messages: [msg(content)] }, { kind: 'ok', why: providerJudges });
  }
  // Unknown or mistyped optional fields, as JSON text so `__proto__` / `constructor` keys are really sent.
  for (const extra of ['"temperature":"hot"', '"n":-1', '"max_tokens":1e308', '"tools":"x"', '"stream_options":"x"', '"user":{"nested":[1]}', '"__proto__":{"polluted":1}', '"constructor":{"prototype":{"polluted":1}}']) {
    const text = `{${extra},${OK_JSON.slice(1)}`;
    add({
      category: 'wrong-type',
      name: `extra field ${extra}`,
      // A form content type goes to ibex's catch-all parser (plain JSON.parse); application/json would
      // reach fastify's, which rejects __proto__ keys outright (below). No key may pollute anything:
      // they are forwarded as data.
      bytes: chat([...auth, ['Content-Type', 'application/x-www-form-urlencoded']], text),
      expect: { kind: 'ok', why: providerJudges },
    });
  }
  for (const extra of ['"__proto__":{"polluted":1}', '"constructor":{"prototype":{"polluted":1}}']) {
    add({ category: 'wrong-type', name: `application/json with ${extra}`, bytes: chat([...auth, ['Content-Type', 'application/json']], `{${extra},${OK_JSON.slice(1)}`), expect: badRequest() });
  }
  // JSON is accepted whatever the content type (curl -d sends a form type); text/plain used to reach
  // fastify's built-in text/plain parser and be refused as "not a JSON object".
  add({ category: 'wrong-type', name: 'valid JSON sent as text/plain', bytes: chat([...auth, ['Content-Type', 'text/plain']], OK_JSON), expect: { kind: 'ok', why: 'JSON is accepted whatever the content type' }, regression: 'text-plain-json' });
  add({ category: 'wrong-type', name: 'valid JSON sent as text/plain; charset=utf-8', bytes: chat([...auth, ['Content-Type', 'text/plain; charset=utf-8']], OK_JSON), expect: { kind: 'ok', why: 'JSON is accepted whatever the content type' }, regression: 'text-plain-json' });
  add({ category: 'wrong-type', name: 'valid JSON with an unparseable Content-Type', bytes: chat([...auth, ['Content-Type', Buffer.from('garbage/☃', 'utf8')]], OK_JSON), expect: badRequest() });
  for (const ct of ['application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
    add({ category: 'wrong-type', name: `valid JSON sent as ${ct}`, bytes: chat([...auth, ['Content-Type', Buffer.from(ct, 'utf8')]], OK_JSON), expect: { kind: 'ok', why: 'JSON is accepted whatever the content type' } });
  }
  add({ category: 'wrong-type', name: 'valid JSON without a content type', bytes: chat(auth, OK_JSON), expect: { kind: 'ok', why: 'JSON is accepted whatever the content type' } });
  for (const role of ['banana', 'SYSTEM', 'tool', 'x'.repeat(1000)]) withBody(`role ${role.slice(0, 20)}`, { model: 'm', messages: [msg('x', role)] }, { kind: 'ok', why: providerJudges });
  withBody('model of 256 characters', { model: 'm'.repeat(256), messages: [msg()] }, { kind: 'ok', why: 'the model limit is 256 characters inclusive' });
  withBody('model "openai/" (provider prefix, empty model)', { model: 'openai/', messages: [msg()] }, { kind: 'ok', why: providerJudges });
  for (const model of ["gpt'; DROP TABLE traces;--", 'm" OR ""="', '../../etc/passwd', '%00', '{{7*7}}']) {
    withBody(`model ${model}`, { model, messages: [msg()] }, { kind: 'ok', why: 'any model string up to 256 characters is forwarded; stores bind it as a parameter' }, 'injection');
  }
  // Same shapes without a token: auth comes first, so 401 whatever the body.
  for (let i = 0; i < 30; i++) {
    const body = rng.pick<unknown>([null, [], { model: 1 }, { messages: 'x' }, OK_BODY, { model: 'm', messages: [null] }]);
    add({ category: 'wrong-type', name: `shape without token (${i})`, bytes: chat([['Content-Type', 'application/json']], JSON.stringify(body)), expect: unauthorized });
  }

  // 3. Huge strings and arrays, and bodies around the limit.
  const limit = o.bodyLimit;
  const padded = (size: number, valid: boolean) => {
    const head = valid ? '{"model":"m","messages":[{"role":"user","content":"' : '{"model":1,"pad":"';
    const tail = valid ? '"}]}' : '"}';
    return head + 'a'.repeat(size - head.length - tail.length) + tail;
  };
  add({ category: 'huge', name: 'body exactly at the limit, wrong shape', bytes: chat([...auth, ['Content-Type', 'application/json']], padded(limit, false)), expect: badRequest('model'), large: true });
  add({ category: 'huge', name: 'body 1 byte under the limit, wrong shape', bytes: chat([...auth, ['Content-Type', 'application/json']], padded(limit - 1, false)), expect: badRequest('model'), large: true });
  add({ category: 'huge', name: 'body 1 byte under the limit, valid', bytes: chat([...auth, ['Content-Type', 'application/json']], padded(limit - 1, true)), expect: { kind: 'ok', why: 'under the limit and well-formed' }, large: true });
  add({ category: 'huge', name: 'body 1 byte under the limit, no token', bytes: chat([['Content-Type', 'application/json']], padded(limit - 1, true)), expect: unauthorized, large: true });
  for (const [name, size] of [['1 byte over the limit', limit + 1], ['2× the limit', limit * 2], ['1 KiB over the limit', limit + 1024]] as const) {
    for (const ct of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const bytes = buildRequest('POST', '/v1/chat/completions', [...auth, ['Content-Type', ct]], padded(size, true), { keepAlive: true });
      add({ category: 'huge', name: `body ${name} (${ct})`, bytes, expect: { kind: 'error', status: 413, code: 'request_too_large' }, large: true, resetAllowed: true });
    }
    const noToken = buildRequest('POST', '/v1/chat/completions', [['Content-Type', 'application/json']], padded(size, true), { keepAlive: true });
    // Auth comes before the body is read, so an oversized body without a token is a 401, not a 413.
    add({ category: 'huge', name: `body ${name}, no token`, bytes: noToken, expect: unauthorized, large: true, resetAllowed: true });
  }
  add({
    category: 'huge',
    name: 'Content-Length of 1 TB announced, 2 bytes sent',
    bytes: buildRequest('POST', '/v1/chat/completions', [...auth, ['Content-Type', 'application/json'], ['Content-Length', '999999999999']], '{}', { contentLength: false }),
    expect: { kind: 'error', status: 413, code: 'request_too_large' },
  });
  // Announced over the limit, nothing sent yet: the 413 comes before any body byte, so no reset race.
  add({
    category: 'huge',
    name: 'Content-Length 1 byte over the limit announced, body not sent',
    bytes: buildRequest('POST', '/v1/chat/completions', [...auth, ['Content-Type', 'application/json'], ['Content-Length', String(limit + 1)]], undefined),
    expect: { kind: 'error', status: 413, code: 'request_too_large' },
  });
  {
    const big = Buffer.from(padded(limit + 4096, true));
    const chunked = Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]);
    add({
      category: 'huge',
      name: 'chunked body over the limit (no Content-Length)',
      bytes: buildRequest('POST', '/v1/chat/completions', [...auth, ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']], chunked, { contentLength: false, keepAlive: true }),
      expect: { kind: 'error', status: 413, code: 'request_too_large' },
      large: true,
      resetAllowed: true,
    });
  }
  const MiB = 1024 * 1024;
  add({ category: 'huge', name: 'content of 3 MiB', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ model: 'm', messages: [msg('x'.repeat(3 * MiB))] })), expect: { kind: 'ok', why: 'under the limit: content size is the provider\'s concern' }, large: true });
  add({ category: 'huge', name: 'model of 1 MiB', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ model: 'm'.repeat(MiB), messages: [msg()] })), expect: badRequest('model'), large: true });
  {
    const many = Array.from({ length: 100_000 }, () => msg('x'));
    add({ category: 'huge', name: '100k messages', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ model: 'm', messages: many })), expect: { kind: 'ok', why: 'well-formed and under the limit' }, large: true });
    const lastBad = [...many.slice(1), { content: 'no role' }];
    add({ category: 'huge', name: '100k messages, the last without a role', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ model: 'm', messages: lastBad })), expect: badRequest('messages[99999].role'), large: true });
    add({ category: 'huge', name: '100k numbers as messages', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ model: 'm', messages: Array.from({ length: 100_000 }, (_, i) => i) })), expect: badRequest('messages[0]'), large: true });
    const keys: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) keys[`k${i}`] = i;
    add({ category: 'huge', name: '100k unknown top-level keys', bytes: chat([...auth, ['Content-Type', 'application/json']], JSON.stringify({ ...OK_BODY, ...keys })), expect: { kind: 'ok', why: providerJudges }, large: true });
  }
  add({ category: 'huge', name: '3 MiB body without a token', bytes: chat([['Content-Type', 'application/json']], JSON.stringify({ model: 'm', messages: [msg('x'.repeat(3 * MiB))] })), expect: unauthorized, large: true });

  // 4. Deep nesting.
  const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const objects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const withContent = (inner: string) => `{"model":"m","messages":[{"role":"user","content":${inner}}]}`;
  const DEEP_BUG = 'deep-nesting-500';
  for (const [name, inner] of [
    ['10k nested arrays in content', arrays(10_000)],
    ['10k nested objects in content', objects(10_000)],
    ['100k nested arrays in content', arrays(100_000)],
    ['1M nested arrays in content', arrays(1_000_000)],
  ] as const) {
    add({ category: 'deep', name: `${name} (valid PAT)`, bytes: chat([...auth, ['Content-Type', 'application/json']], withContent(inner)), expect: { kind: 'error', status: 400 }, regression: DEEP_BUG, large: true });
    add({ category: 'deep', name: `${name} (no token)`, bytes: chat([['Content-Type', 'application/json']], withContent(inner)), expect: unauthorized, large: true });
  }
  add({ category: 'deep', name: '10k nested arrays in an unknown field (valid PAT)', bytes: chat([...auth, ['Content-Type', 'application/json']], `{"model":"m","messages":[{"role":"user","content":"x"}],"metadata":${arrays(10_000)}}`), expect: { kind: 'error', status: 400 }, regression: DEEP_BUG, large: true });
  add({ category: 'deep', name: '10k nested arrays as the whole body', bytes: chat([...auth, ['Content-Type', 'application/json']], arrays(10_000)), expect: badRequest('body') });
  add({ category: 'deep', name: '10k nested objects as model', bytes: chat([...auth, ['Content-Type', 'application/json']], `{"model":${objects(10_000)},"messages":[]}`), expect: badRequest('model') });
  add({ category: 'deep', name: '10k nested arrays as messages', bytes: chat([...auth, ['Content-Type', 'application/json']], `{"model":"m","messages":${arrays(10_000)}}`), expect: badRequest('messages[0]') });
  add({ category: 'deep', name: '10k unclosed arrays', bytes: chat([...auth, ['Content-Type', 'application/json']], withContent('['.repeat(10_000))), expect: badRequest() });
  add({ category: 'deep', name: '500 nested arrays in content', bytes: chat([...auth, ['Content-Type', 'application/json']], withContent(arrays(500))), expect: { kind: 'ok', why: 'moderate nesting inside content is the provider\'s to judge' } });

  // 5. Invalid UTF-8. Inside a JSON string, Node decodes it to U+FFFD and the JSON stays valid: forwarded
  // (lossy, documented in docs/security.md). Outside strings it breaks the JSON: 400.
  const INVALID_UTF8: number[][] = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xe2, 0x82, 0x28], [0xf0, 0x28, 0x8c, 0xbc], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xbf], [0xf4, 0x90, 0x80, 0x80]];
  for (const seq of INVALID_UTF8) {
    const bad = Buffer.from(seq);
    const inString = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"a'), bad, Buffer.from('b"}]}')]);
    add({ category: 'utf8', name: `invalid UTF-8 ${Buffer.from(seq).toString('hex')} inside content`, bytes: chat([...auth, ['Content-Type', 'application/json']], inString), expect: { kind: 'ok', why: 'decoded lossily to U+FFFD inside a string: still valid JSON' } });
    const inModel = Buffer.concat([Buffer.from('{"model":"m'), bad, Buffer.from('","messages":[{"role":"user","content":"x"}]}')]);
    add({ category: 'utf8', name: `invalid UTF-8 ${bad.toString('hex')} inside model`, bytes: chat([...auth, ['Content-Type', 'application/x-www-form-urlencoded']], inModel), expect: { kind: 'ok', why: 'decoded lossily inside a string' } });
    const outside = Buffer.concat([Buffer.from('{"model":"m",'), bad, Buffer.from('"messages":[{"role":"user","content":"x"}]}')]);
    add({ category: 'utf8', name: `invalid UTF-8 ${bad.toString('hex')} between fields`, bytes: chat([...auth, ['Content-Type', 'application/json']], outside), expect: badRequest() });
    const asKey = Buffer.concat([Buffer.from('{"model":"m","messages":[{"'), bad, Buffer.from('":"user","content":"x"}]}')]);
    add({ category: 'utf8', name: `invalid UTF-8 ${bad.toString('hex')} as the role key`, bytes: chat([...auth, ['Content-Type', 'application/json']], asKey), expect: badRequest('messages[0].role') });
  }
  for (let i = 0; i < 25; i++) {
    const junk = Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0x80, 0xff)));
    const body = Buffer.concat([junk, Buffer.from(OK_JSON)]);
    if (parsesAsJson(body)) continue;
    add({ category: 'utf8', name: `random high bytes before the body (${i})`, bytes: chat([...auth, ['Content-Type', 'application/json']], body), expect: badRequest() });
  }
  add({ category: 'utf8', name: 'UTF-16LE body', bytes: chat([...auth, ['Content-Type', 'application/json; charset=utf-16']], Buffer.from(OK_JSON, 'utf16le')), expect: badRequest() });
  add({ category: 'utf8', name: 'lone surrogate escapes in content', bytes: chat([...auth, ['Content-Type', 'application/json']], '{"model":"m","messages":[{"role":"user","content":"\\ud800\\udfff\\udc00"}]}'), expect: { kind: 'ok', why: 'valid JSON escapes; JSON.stringify re-escapes lone surrogates' } });

  // 6. Tokens.
  const tokenCase = (name: string, value: string | Buffer, expect: Expectation = unauthorized) =>
    add({ category: 'token', name, bytes: chat([['Authorization', value], ['Content-Type', 'application/json']], OK_JSON), expect });
  const secret = o.token.slice(PAT_PREFIX.length);
  for (let i = 0; i < 40; i++) {
    // the real random part with a wrong checksum, and random parts with wrong checksums
    const random = i < 10 ? secret.slice(0, 30) : rng.chars(BASE62, 30);
    let sum = rng.chars(BASE62, 6);
    if (sum === patChecksum(random)) sum = sum.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    tokenCase(`prefix + bad checksum (${i})`, `Bearer ${PAT_PREFIX}${random}${sum}`);
  }
  for (let i = 0; i < 40; i++) tokenCase(`well-formed, never issued (${i})`, `Bearer ${wellFormedPat(rng)}`);
  for (const [name, t] of [
    ['one character short', o.token.slice(0, -1)],
    ['one character long', o.token + 'A'],
    ['prefix only', PAT_PREFIX],
    ['prefix + 1000 characters', PAT_PREFIX + 'A'.repeat(1000)],
    ['prefix + 8 KiB', PAT_PREFIX + 'A'.repeat(8192)],
    ['upper-case prefix', o.token.replace(PAT_PREFIX, PAT_PREFIX.toUpperCase())],
    ['other prefix', o.token.replace('ibex_pat_', 'ibex_tap_')],
    ['sk- key', 'sk-' + secret],
    ['the random part alone', secret],
    ['token twice', o.token + o.token],
    ['underscore in the random part', o.token.slice(0, 20) + '_' + o.token.slice(21)],
    ['SQL', "' OR '1'='1"],
    ['SQL without spaces', "ibex_pat_'OR'1'='1'--"],
    ['percent-encoded token', encodeURIComponent(o.token).replace(/_/g, '%5F')],
  ] as const) {
    tokenCase(`Bearer ${name}`, `Bearer ${t}`);
  }
  for (const [name, value] of [
    ['é in the token (UTF-8 bytes)', Buffer.from(`Bearer ${o.token.slice(0, -1)}é`, 'utf8')],
    ['İ in the token', Buffer.from(`Bearer ${o.token.slice(0, 12)}İ${o.token.slice(13)}`, 'utf8')],
    ['emoji token', Buffer.from('Bearer ibex_pat_🔑🔑🔑🔑🔑🔑🔑🔑🔑', 'utf8')],
    ['latin-1 byte 0xff', Buffer.concat([Buffer.from(`Bearer ${o.token.slice(0, -1)}`), Buffer.from([0xff])])],
    ['full-width digits', Buffer.from(`Bearer ${PAT_PREFIX}${'０'.repeat(36)}`, 'utf8')],
    ['zero-width space inside', Buffer.from(`Bearer ${o.token.slice(0, 15)}\u200b${o.token.slice(15)}`, 'utf8')],
  ] as const) {
    tokenCase(`unicode: ${name}`, value);
  }
  for (const value of ['', 'Bearer', 'Bearer ', 'Basic ' + Buffer.from('a:b').toString('base64'), 'Token ' + o.token, o.token, 'Bearer ' + o.token + ' extra', 'Bearer,' + o.token, ', Bearer ' + o.token, 'Bearer "' + o.token + '"', 'Bearer ' + o.token + ';', 'Digest x', 'null', 'undefined', 'Bearer null']) {
    tokenCase(`Authorization ${JSON.stringify(value.replace(o.token, '<PAT>'))}`, value);
  }
  // Deliberately valid: the scheme is case-insensitive and any whitespace separates it (RFC 7235).
  for (const value of [`bearer ${o.token}`, `BEARER ${o.token}`, `Bearer\t${o.token}`, `Bearer    ${o.token}`, `Bearer ${o.token}   `]) {
    tokenCase(`Authorization ${JSON.stringify(value.replace(o.token, '<PAT>'))}`, value, { kind: 'ok', why: 'a valid Bearer header with odd spacing or case' });
  }
  // Duplicate Authorization headers: Node keeps the first and drops the rest (RFC 9110 allows only one).
  add({ category: 'token', name: 'two Authorization headers, garbage first', bytes: chat([['Authorization', 'garbage'], ['Authorization', `Bearer ${o.token}`], ['Content-Type', 'application/json']], OK_JSON), expect: unauthorized });
  add({ category: 'token', name: 'two Authorization headers, bad checksum first', bytes: chat([['Authorization', `Bearer ${o.token.slice(0, -1)}${o.token.endsWith('A') ? 'B' : 'A'}`], ['Authorization', `Bearer ${o.token}`], ['Content-Type', 'application/json']], OK_JSON), expect: unauthorized });
  add({ category: 'token', name: 'two Authorization headers, valid first', bytes: chat([['Authorization', `Bearer ${o.token}`], ['Authorization', 'garbage'], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'Node keeps the first Authorization header, which is valid' } });

  // 7. X-Ibex-Agent, X-Ibex-Session and X-Request-Id: SQL, escapes, odd bytes.
  const INJECTIONS = ["' OR '1'='1", "demo'; DROP TABLE agents;--", '" OR ""="', "1; SELECT * FROM pats", "%27%20OR%201=1", '\\', '`rm -rf /`', '$(id)', '${jndi:ldap://x}', '../../etc/passwd', '<script>alert(1)</script>', '*', '%', '_', 'NULL', "admin'--", '{"$ne":null}', 'a'.repeat(1000)];
  const agentForbidden: Expectation = { kind: 'error', status: 403, code: 'agent_forbidden' };
  for (const v of INJECTIONS) {
    add({ category: 'injection', name: `X-Ibex-Agent ${v.slice(0, 40)}`, bytes: chat([...auth, ['X-Ibex-Agent', v], ['Content-Type', 'application/json']], OK_JSON), expect: agentForbidden });
    // The documented session id alphabet: 1–128 of letters, digits, `.`, `_`, `:`, `-` (`_`, `NULL` qualify).
    const validSession = /^[A-Za-z0-9._:-]{1,128}$/.test(v);
    add({
      category: 'injection',
      name: `X-Ibex-Session ${v.slice(0, 40)}`,
      bytes: chat([...auth, ['X-Ibex-Session', v], ['Content-Type', 'application/json']], OK_JSON),
      expect: validSession ? { kind: 'ok', why: 'a valid session id, however odd' } : badRequest('X-Ibex-Session'),
    });
    // X-Request-Id is echoed only when it is 1–200 printable ASCII characters without spaces; either
    // way the request itself is fine.
    const echo = /^[\x21-\x7e]{1,200}$/.test(v);
    add({ category: 'injection', name: `X-Request-Id ${v.slice(0, 40)}`, bytes: chat([...auth, ['X-Request-Id', `${v}`], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'X-Request-Id is informational', requestIdEcho: echo ? v : false } });
  }
  for (const [name, bytes] of [
    ['latin-1 é', Buffer.from([0x64, 0xe9, 0x6d, 0x6f])],
    ['C1 CSI (0x9b) — a terminal escape in 8-bit form', Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0x78])],
    ['UTF-8 é', Buffer.from('démo', 'utf8')],
    ['UTF-8 RTL override', Buffer.from('\u202edemo', 'utf8')],
  ] as const) {
    add({ category: 'injection', name: `X-Ibex-Agent ${name}`, bytes: chat([...auth, ['X-Ibex-Agent', bytes], ['Content-Type', 'application/json']], OK_JSON), expect: agentForbidden });
    add({ category: 'injection', name: `X-Ibex-Session ${name}`, bytes: chat([...auth, ['X-Ibex-Session', bytes], ['Content-Type', 'application/json']], OK_JSON), expect: badRequest('X-Ibex-Session') });
    add({ category: 'injection', name: `X-Request-Id ${name}`, bytes: chat([...auth, ['X-Request-Id', bytes], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'a non-ASCII X-Request-Id is replaced by a generated one', requestIdEcho: false } });
  }
  add({ category: 'injection', name: 'X-Ibex-Session of 129 characters', bytes: chat([...auth, ['X-Ibex-Session', 's'.repeat(129)], ['Content-Type', 'application/json']], OK_JSON), expect: badRequest('X-Ibex-Session') });
  add({ category: 'injection', name: 'X-Ibex-Session empty', bytes: chat([...auth, ['X-Ibex-Session', ''], ['Content-Type', 'application/json']], OK_JSON), expect: badRequest('X-Ibex-Session') });
  add({ category: 'injection', name: 'two X-Ibex-Session headers', bytes: chat([...auth, ['X-Ibex-Session', 'a'], ['X-Ibex-Session', 'b'], ['Content-Type', 'application/json']], OK_JSON), expect: badRequest('X-Ibex-Session') });
  add({ category: 'injection', name: 'X-Ibex-Session of 128 characters', bytes: chat([...auth, ['X-Ibex-Session', `corpus-${rng.chars(BASE62, 121)}`], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'the maximum session id length' } });
  add({ category: 'injection', name: 'X-Ibex-Agent empty (treated as absent)', bytes: chat([...auth, ['X-Ibex-Agent', ''], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'an empty X-Ibex-Agent is no choice: the single bound agent serves' } });
  add({ category: 'injection', name: 'two X-Ibex-Agent headers naming the bound agent', bytes: chat([...auth, ['X-Ibex-Agent', o.agent], ['X-Ibex-Agent', o.agent], ['Content-Type', 'application/json']], OK_JSON), expect: agentForbidden });
  add({ category: 'injection', name: 'X-Ibex-Agent with the bound agent in other case', bytes: chat([...auth, ['X-Ibex-Agent', o.agent.toUpperCase()], ['Content-Type', 'application/json']], OK_JSON), expect: agentForbidden });
  add({ category: 'injection', name: 'X-Request-Id of 201 characters', bytes: chat([...auth, ['X-Request-Id', 'r'.repeat(201)], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'too long: replaced', requestIdEcho: false } });

  // 8. Broken HTTP: control characters in header values (where a terminal escape would have to go),
  // framing errors, oversized headers. Node's parser answers these before any route runs.
  const CONTROL = ['\x1b[31m', '\x1b]0;pwned\x07', '\x00', '\x07', '\x08', '\x7f', '\x1b[2J\x1b[H', '\x0b', '\x0c', '\r'];
  for (const header of ['X-Ibex-Agent', 'X-Ibex-Session', 'X-Request-Id', 'Authorization']) {
    for (const c of CONTROL) {
      add({ category: 'http', name: `${header} with ${JSON.stringify(c)}`, bytes: chat([...(header === 'Authorization' ? [] : auth), [header, `x${c}y`], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'http', status: 400 } });
    }
  }
  const raw = (name: string, text: string | Buffer, status: number, halfClose = false) =>
    add({ category: 'http', name, bytes: typeof text === 'string' ? Buffer.from(text, 'latin1') : text, expect: { kind: 'http', status }, halfClose });
  raw('Content-Length and Transfer-Encoding together (smuggling)', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400);
  raw('two different Content-Length headers', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400);
  raw('Content-Length not a number', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: abc\r\n\r\n`, 400);
  raw('negative Content-Length', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: -1\r\n\r\n`, 400);
  raw('bad chunk size', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, 400);
  raw('unknown transfer coding', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: rot13\r\n\r\n{}`, 400);
  // No token: refused (401) before the body is read, so the short body is never noticed.
  raw('body shorter than Content-Length, then EOF', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{"model":`, 401, true);
  raw('NUL bytes instead of a request line', '\x00\x01\x02 GARBAGE\r\n\r\n', 400);
  raw('unknown method', 'BREW /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n', 400);
  raw('HTTP/2 preface on HTTP/1.1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400);
  raw('HTTP/9.9', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n', 400);
  raw('space in a header name', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX Ibex Agent: a\r\n\r\n`, 400);
  raw('header without a colon', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization\r\n\r\n`, 400);
  raw('obsolete line folding', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n ${o.token}\r\n\r\n`, 400);
  raw('bare LF inside a header value', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Ibex-Agent: a\nb\r\n\r\n`, 400);
  raw('request line with a space in the path', `GET /v1/models x HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
  raw('request line with a control character in the path', `GET /v1/\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
  // Oversized headers: Node's limit is 16 KiB for the whole header block (--max-http-header-size).
  const big = (n: number) => 'a'.repeat(n);
  add({ category: 'http', name: 'one 20 KiB header', bytes: chat([...auth, ['X-Pad', big(20 * 1024)]], OK_JSON), expect: { kind: 'http', status: 431 } });
  add({ category: 'http', name: '20 KiB Authorization', bytes: chat([['Authorization', `Bearer ${PAT_PREFIX}${big(20 * 1024)}`]], OK_JSON), expect: { kind: 'http', status: 431 } });
  add({ category: 'http', name: '20 KiB X-Ibex-Session', bytes: chat([...auth, ['X-Ibex-Session', big(20 * 1024)]], OK_JSON), expect: { kind: 'http', status: 431 } });
  add({ category: 'http', name: '20 KiB X-Ibex-Agent', bytes: chat([...auth, ['X-Ibex-Agent', big(20 * 1024)]], OK_JSON), expect: { kind: 'http', status: 431 } });
  // Node answers 400 or 431 here depending on which of its limits (count or size) trips first.
  add({ category: 'http', name: '2,000 small headers', bytes: chat([...auth, ...Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, 'v'] as [string, string])], OK_JSON), expect: { kind: 'http', status: [400, 431] } });
  add({ category: 'http', name: '20 KiB URL', bytes: buildRequest('GET', `/v1/models?${big(20 * 1024)}`, auth), expect: { kind: 'http', status: 431 } });
  add({ category: 'http', name: '1 MiB header', bytes: chat([...auth, ['X-Pad', big(1024 * 1024)]], OK_JSON), expect: { kind: 'http', status: 431 } });
  // Just under the header limit is fine.
  add({ category: 'http', name: '12 KiB header (under the limit)', bytes: chat([...auth, ['X-Pad', big(12 * 1024)], ['Content-Type', 'application/json']], OK_JSON), expect: { kind: 'ok', why: 'under Node\'s 16 KiB header limit; unknown headers are ignored (never forwarded)' } });

  // 9. Other routes.
  const get = (path: string, headers: HeaderList) => buildRequest('GET', path, headers);
  for (let i = 0; i < 25; i++) {
    const t = rng.pick([`Bearer ${wellFormedPat(rng)}`, `Bearer ${PAT_PREFIX}${rng.chars(BASE62, rng.int(0, 50))}`, 'Bearer', rng.chars(BASE62, 20), `Bearer ${o.token.slice(0, -1)}!`]);
    add({ category: 'routes', name: `GET /v1/models with a bad token (${i})`, bytes: get('/v1/models', [['Authorization', t]]), expect: unauthorized });
  }
  add({ category: 'routes', name: 'GET /v1/models without a token', bytes: get('/v1/models', []), expect: unauthorized });
  add({ category: 'routes', name: 'GET /v1/models with the PAT', bytes: get('/v1/models', auth), expect: { kind: 'ok', why: 'valid' } });
  const adminDenied: Expectation = { kind: 'error', status: 401, code: 'invalid_admin_token' };
  for (const t of ['', 'Bearer', `Bearer ${o.token}`, 'Bearer ibex_admin_', "Bearer ' OR '1'='1", `Basic ${Buffer.from('admin:admin').toString('base64')}`, `Bearer ${'x'.repeat(4000)}`]) {
    add({ category: 'routes', name: `GET /admin/v1/events with ${JSON.stringify(t.replace(o.token, '<PAT>').slice(0, 30))}`, bytes: get('/admin/v1/events', t ? [['Authorization', t]] : []), expect: adminDenied });
  }
  add({ category: 'routes', name: 'admin token in the query string', bytes: get('/admin/v1/events?token=x&access_token=x', []), expect: adminDenied });
  add({ category: 'routes', name: 'admin events with a bad percent-encoded agent', bytes: get('/admin/v1/events?agent=%ZZ', []), expect: adminDenied });
  const notFound: Expectation = { kind: 'error', status: 404, code: 'not_found' };
  for (const [method, path] of [
    ['GET', '/v1/chat/completions'],
    ['PUT', '/v1/chat/completions'],
    ['DELETE', '/v1/chat/completions'],
    ['PATCH', '/v1/chat/completions'],
    ['OPTIONS', '/v1/chat/completions'],
    ['POST', '/v1/models'],
    ['POST', '/admin/v1/events'],
    ['POST', '/healthz'],
    ['DELETE', '/metrics'],
    ['POST', '/v1/chat/completions/'],
    ['POST', '/v1//chat/completions'],
    ['POST', '/V1/CHAT/COMPLETIONS'],
    ['POST', '/v1/chat/completions%00'],
    ['POST', '/v1/chat/completions;x'],
    ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
    ['GET', '/../../etc/passwd'],
    ['GET', '/admin/v1/events/../../v1/models'],
    ['GET', '/admin'],
    ['GET', '/admin/v1'],
  ] as const) {
    add({ category: 'routes', name: `${method} ${path}`, bytes: buildRequest(method, path, auth, method === 'GET' || method === 'OPTIONS' ? undefined : OK_JSON), expect: notFound });
  }
  for (let i = 0; i < 30; i++) {
    const path = '/' + rng.chars('abcdefghijklmnopqrstuvwxyz0123456789-._~/', rng.int(1, 60));
    if (['/healthz', '/readyz', '/metrics', '/v1/models'].includes(path)) continue;
    add({ category: 'routes', name: `random path ${path}`, bytes: buildRequest(rng.pick(['GET', 'POST']), path, [], '{}'), expect: notFound });
  }
  // A malformed percent-encoding in the path is rejected by fastify's router before any handler.
  const BAD_URL = 'bad-url-body';
  for (const path of ['/v1/chat/%ZZcompletions', '/%', '/v1/%E0%A4%A', '/%C0%AF']) {
    add({ category: 'routes', name: `bad percent-encoding ${path}`, bytes: buildRequest('POST', path, auth, OK_JSON), expect: { kind: 'error', status: 400, code: 'invalid_request' }, regression: BAD_URL });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------
// CLI corpus

export interface CliCase {
  name: string;
  args: string[];
  /** Exit codes allowed (1 user error, 2 usage error); 0 only where the input is deliberately valid. */
  exit: number[];
  /** Why 0 is fine, when it is. */
  why?: string;
  /** Cases that once exposed a bug (see HttpCase.regression). */
  regression?: string;
  /** Runs in its own IBEX_HOME (it changes the config file or the store); `setup` runs there first. */
  isolated?: boolean;
  setup?: string[][];
}

export function generateCliCorpus(seed: number): CliCase[] {
  const rng = new Rng(seededRandom(seed));
  const cases: CliCase[] = [];
  const usage = (name: string, args: string[]) => cases.push({ name, args, exit: [2] });
  const user = (name: string, args: string[]) => cases.push({ name, args, exit: [1] });
  const either = (name: string, args: string[]) => cases.push({ name, args, exit: [1, 2] });
  const NASTY = ["x'; DROP TABLE agents;--", '" OR ""="', '\x1b[31mred\x1b[0m', '\x1b]0;pwned\x07', '$(id)', '../../etc/passwd', '%s%s%n', '-', '--', 'é☃🔑', '\u202eevil', 'a'.repeat(100_000), ' ', '\t', '.hidden', 'a/b'];
  const BAD_NUMBERS = ['abc', '-1', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '99999999999999999999', '', ' ', '١٢'];

  cases.push({ name: 'no arguments', args: [], exit: [0, 1, 2], why: 'prints the help' });
  usage('unknown command', ['frobnicate']);
  usage('unknown command with SQL', ["'; DROP TABLE pats;--"]);
  usage('unknown global option', ['--bogus']);
  usage('unknown subcommand', ['agent', 'explode']);
  usage('unknown option on a subcommand', ['pat', 'list', '--bogus']);
  usage('option missing its value', ['pat', 'create', '--agent']);
  usage('required option missing', ['pat', 'create']);
  usage('missing argument', ['agent', 'create']);
  usage('too many arguments', ['agent', 'create', 'a', 'b', 'c']);
  usage('directive set without text or file', ['directive', 'set', 'a']);
  usage('directive set with both text and file', ['directive', 'set', 'a', '--text', 'x', '--file', '/etc/hostname']);

  for (const v of NASTY) {
    usage(`agent create ${JSON.stringify(v.slice(0, 20))}`, ['agent', 'create', v]);
  }
  for (const v of NASTY.slice(0, 8)) {
    either(`agent disable ${JSON.stringify(v.slice(0, 20))}`, ['agent', 'disable', v]);
    either(`pat revoke ${JSON.stringify(v.slice(0, 20))}`, ['pat', 'revoke', v]);
    either(`sessions show ${JSON.stringify(v.slice(0, 20))}`, ['sessions', 'show', v]);
    either(`directive get ${JSON.stringify(v.slice(0, 20))}`, ['directive', 'get', v]);
    either(`pat create --agent ${JSON.stringify(v.slice(0, 20))}`, ['pat', 'create', '--agent', v]);
  }
  for (const v of BAD_NUMBERS) {
    usage(`agent create --rpm ${JSON.stringify(v)}`, ['agent', 'create', `rpm-${rng.chars('abcdefghij', 8)}`, '--rpm', v]);
    usage(`sessions list --limit ${JSON.stringify(v)}`, ['sessions', 'list', '--limit', v]);
    usage(`traces list --limit ${JSON.stringify(v)}`, ['traces', 'list', '--limit', v]);
  }
  for (const v of ['0', '10000001', '-5', 'lots']) usage(`pat create --rpm ${v}`, ['pat', 'create', '--agent', 'corpus', '--rpm', v]);
  for (const v of ['soon', '0s', '-1h', '1y', '1h30m', '\x1b[2J', '', '0x10s']) usage(`pat create --expires ${JSON.stringify(v)}`, ['pat', 'create', '--agent', 'corpus', '--expires', v]);
  for (const v of ['abc', '-1', '0', '1.5']) usage(`directive get --version ${v}`, ['directive', 'get', 'corpus', '--version', v]);
  for (const v of ['abc', '-1', '1.5']) usage(`directive set --if-version ${v}`, ['directive', 'set', 'corpus', '--text', 'x', '--if-version', v]);
  for (const v of ['abc', '0', '-1']) usage(`directive rollback --to ${v}`, ['directive', 'rollback', 'corpus', '--to', v]);
  user('directive set --file that does not exist', ['directive', 'set', 'corpus', '--file', '/nonexistent/ibex-corpus']);
  user('directive set --file a directory', ['directive', 'set', 'corpus', '--file', '/']);
  user('directive set for an unknown agent', ['directive', 'set', 'no-such-agent', '--text', 'x']);
  user('directive rollback to a version that does not exist', ['directive', 'rollback', 'corpus', '--to', '999']);
  user('directive set --if-version that is stale', ['directive', 'set', 'corpus', '--text', 'x', '--if-version', '999']);
  for (const v of ['99999', '-1', 'abc', '1.5', '65536']) {
    usage(`serve --port ${v}`, ['serve', '--port', v]);
    usage(`auth-server --port ${v}`, ['auth-server', '--port', v]);
    usage(`mock-upstream --port ${v}`, ['mock-upstream', '--port', v]);
  }
  cases.push({ name: 'serve --host with a space', args: ['serve', '--host', 'bad host', '--port', '0'], exit: [1, 2], regression: 'serve-listen-error-is-a-bug-report' });
  cases.push({ name: 'serve --host that is not an address of this machine', args: ['serve', '--host', '203.0.113.7', '--port', '0'], exit: [1, 2], regression: 'serve-listen-error-is-a-bug-report' });
  for (const [flag, v] of [['--latency', '-5'], ['--ttfb', 'x'], ['--chunks', '0'], ['--fail-rate', '2'], ['--fail-status', '200'], ['--chunk-interval', 'NaN'], ['--seed', 'x']] as const) {
    usage(`mock-upstream ${flag} ${v}`, ['mock-upstream', '--port', '0', flag, v]);
  }
  for (const [flag, v] of [['--concurrency', '0'], ['--duration', 'forever'], ['--upstream-latency', '-1'], ['--baseline', 'nginx'], ['--assert-p99-overhead', 'x'], ['--chunks', '0'], ['--warmup', '-1s']] as const) {
    usage(`bench ${flag} ${v}`, ['bench', flag, v]);
  }
  usage('tail --url not a URL', ['tail', '--url', 'notaurl']);
  usage('tail --url with a terminal escape', ['tail', '--url', '\x1b[2Jhttp://x']);
  usage('smoke --url not a URL', ['smoke', '--url', 'notaurl']);
  either('smoke --token without --url', ['smoke', '--token', 'ibex_pat_x']);
  usage('config get of an unknown key', ['config', 'get', 'nope']);
  usage('config set of an unknown key', ['config', 'set', "x'; DROP", '1']);
  cases.push({
    name: 'pat create --expires beyond the Date range',
    args: ['pat', 'create', '--agent', 'corpus', '--expires', '99999999999999999999d'],
    exit: [2],
    isolated: true,
    setup: [['agent', 'create', 'corpus']],
    regression: 'expires-overflow-poisons-pat-list',
  });
  cases.push({ name: 'config set port to a non-number', args: ['config', 'set', 'port', 'abc'], exit: [2], isolated: true, regression: 'config-set-accepts-invalid-values' });
  cases.push({ name: 'config set databaseUrl to a non-URL', args: ['config', 'set', 'databaseUrl', 'not a url'], exit: [2], isolated: true, regression: 'config-set-accepts-invalid-values' });
  usage('config unset of an unknown key', ['config', 'unset', '\x1b[31m']);
  usage('migrate with an unknown option', ['migrate', '--force']);
  usage('--json twice with a value', ['agent', 'list', '--json=yes']);
  // A session filter that matches nothing is a valid query: exit 0 and an empty result. An agent that
  // does not exist is a user error in every command (exit 1, one wording), list filters included.
  for (const v of ["'; DROP TABLE traces;--", '\x1b[2J', '%', '_']) {
    cases.push({ name: `traces list --session ${JSON.stringify(v)}`, args: ['traces', 'list', '--session', v, '--json'], exit: [0], why: 'a filter matching nothing is an empty list' });
    cases.push({ name: `sessions list --agent ${JSON.stringify(v)}`, args: ['sessions', 'list', '--agent', v, '--json'], exit: [1], why: 'no such agent' });
    cases.push({ name: `pat list --agent ${JSON.stringify(v)}`, args: ['pat', 'list', '--agent', v, '--json'], exit: [1], why: 'no such agent' });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP client

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends `bytes` on a fresh connection and returns the first response: as soon as it is complete (its
 * Content-Length received), or what arrived when the server closed the connection. A write error after
 * the server answered early (EPIPE / ECONNRESET) still returns the response; `null` means the server
 * closed without answering at all.
 */
export function sendRaw(port: number, bytes: Buffer, opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawResponse | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let received = 0;
    let total = -1; // header + body length once the header announced a Content-Length
    let done = false;
    const finish = (res: RawResponse | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(res);
    };
    const timer = setTimeout(() => {
      done = true;
      socket.destroy();
      reject(new Error(`no end of response within ${opts.timeoutMs ?? 30_000} ms`));
    }, opts.timeoutMs ?? 30_000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (total < 0) total = announcedLength(Buffer.concat(chunks, received));
      if (total >= 0 && received >= total) finish(parseResponse(Buffer.concat(chunks, received)));
    });
    socket.on('error', () => {
      // EPIPE/ECONNRESET after an early answer: 'close' follows and parses what arrived.
    });
    socket.on('close', () => finish(parseResponse(Buffer.concat(chunks))));
    socket.write(bytes, () => {
      if (opts.halfClose) socket.end();
    });
  });
}

/** Header + body length of a response whose header announced a Content-Length; -1 when unknown yet. */
function announcedLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return -1;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
  return m ? end + 4 + Number(m[1]) : Number.MAX_SAFE_INTEGER; // no length: read until close
}

export function parseResponse(buf: Buffer): RawResponse | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(m[1]), headers, body };
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
