// Masks the gateway's own secrets (the upstream key, the admin token: log.ts registerSecret) in a
// provider's successful answer before the caller or the checkpoint sees it. Some providers and
// misconfigured proxies echo the Authorization header they received; a caller must not be able to
// read OPENAI_API_KEY out of a 200 any more than out of an error.
//
// Cost on the hot path: one native Buffer.indexOf per secret per body or chunk. Only a body that
// does contain a secret is copied.
import { SECRET_MASK } from '../log.js';

const MASK = Buffer.from(SECRET_MASK, 'utf8');

/** `buf` with every secret masked; `buf` itself when none occurs. */
export function redactBody(buf: Buffer, secrets: readonly Buffer[]): Buffer {
  let out = buf;
  for (const s of secrets) if (out.indexOf(s) !== -1) out = replaceAll(out, s);
  return out;
}

/**
 * The same for a stream, chunk by chunk. A secret may be split across two chunks, so a chunk's tail
 * that could be the start of a secret is held back until the next chunk shows whether it is one.
 * An SSE chunk ends with a blank line, which starts no secret, so in practice nothing is delayed.
 */
export class StreamRedactor {
  private carry: Buffer | null = null;

  constructor(private readonly secrets: readonly Buffer[]) {}

  /** The bytes to forward for `chunk` (possibly empty, when all of it was held back). */
  push(chunk: Buffer): Buffer {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    buf = redactBody(buf, this.secrets);
    let hold = 0;
    for (const s of this.secrets) hold = Math.max(hold, secretPrefixAtEnd(buf, s));
    if (hold === 0) return buf;
    this.carry = Buffer.from(buf.subarray(buf.length - hold));
    return buf.subarray(0, buf.length - hold);
  }

  /**
   * What is still held back when the stream ends. It is the beginning of a secret that was cut off
   * (a complete SSE stream never ends that way), so it is masked rather than sent.
   */
  end(): Buffer | null {
    if (!this.carry) return null;
    this.carry = null;
    return MASK;
  }
}

function replaceAll(buf: Buffer, secret: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = buf.indexOf(secret); i !== -1; i = buf.indexOf(secret, from)) {
    parts.push(buf.subarray(from, i), MASK);
    from = i + secret.length;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** Length of the longest proper prefix of `secret` that `buf` ends with (0 if none). */
function secretPrefixAtEnd(buf: Buffer, secret: Buffer): number {
  // The usual SSE chunk ends in '\n', which no secret contains: nothing to hold back.
  if (buf.length === 0 || !secret.includes(buf[buf.length - 1]!)) return 0;
  const first = secret[0]!;
  for (let i = buf.indexOf(first, Math.max(0, buf.length - secret.length + 1)); i !== -1; i = buf.indexOf(first, i + 1)) {
    if (buf.compare(secret, 0, buf.length - i, i) === 0) return buf.length - i;
  }
  return 0;
}
