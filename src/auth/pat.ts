// Personal access token format: `ibex_pat_<30 base62 random><6 base62 CRC32 checksum>`.
// The checksum (after GitHub's token format) lets the gateway reject typos and garbage without any
// cache or store lookup; only the SHA-256 of the whole token is ever stored.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const PAT_PREFIX = 'ibex_pat_';
const RANDOM_LEN = 30;
const CHECKSUM_LEN = 6;
export const PAT_LENGTH = PAT_PREFIX.length + RANDOM_LEN + CHECKSUM_LEN;
/** Characters of a token kept as its display prefix: `ibex_pat_` + 8 random characters. */
const DISPLAY_PREFIX_LEN = PAT_PREFIX.length + 8;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_RE = /^[0-9A-Za-z]+$/;

function randomBase62(len: number): string {
  let out = '';
  for (let i = 0; i < len; i++) out += BASE62[randomInt(62)];
  return out;
}

function checksumOf(random: string): string {
  let n = crc32(random) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LEN; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface NewToken {
  token: string;
  id: string;
  prefix: string;
  hash: string;
}

export function generatePat(): NewToken {
  const random = randomBase62(RANDOM_LEN);
  const token = PAT_PREFIX + random + checksumOf(random);
  return { token, id: 'pat_' + randomBytes(6).toString('hex'), prefix: displayPrefix(token), hash: hashToken(token) };
}

/** True when the token has the PAT shape and its checksum matches. Costs no I/O. */
export function isWellFormedPat(token: string): boolean {
  if (token.length !== PAT_LENGTH || !token.startsWith(PAT_PREFIX)) return false;
  const body = token.slice(PAT_PREFIX.length);
  if (!BASE62_RE.test(body)) return false;
  const random = body.slice(0, RANDOM_LEN);
  return checksumOf(random) === body.slice(RANDOM_LEN);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function displayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LEN);
}

/** Extracts the bearer token from an Authorization header value; null when absent or not Bearer. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  // "Bearer <token>", case-insensitive scheme, single space tolerant of extra spaces
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
