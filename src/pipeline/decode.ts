// Provider bodies with a content-encoding (gzip, deflate, br) are decoded before ibex reads or forwards
// them, so the client always gets identity-encoded bytes and the checkpoint sees text. We never ask for
// compression, but some OpenAI-compatible servers send it anyway.
import { finished, Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

type Encoded = Readable;

export function decodedBody(body: Encoded, contentEncoding: string | string[] | undefined): Readable {
  const enc = String(Array.isArray(contentEncoding) ? contentEncoding[0] : (contentEncoding ?? ''))
    .trim()
    .toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  const decoder = enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'deflate' ? createInflate() : enc === 'br' ? createBrotliDecompress() : null;
  if (!decoder) return body;
  body.on('error', (err) => decoder.destroy(err));
  decoder.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(decoder);
}

/** A body longer than the reader's bound; the body was destroyed (the upstream request is cancelled). */
export class BodyTooLargeError extends Error {
  readonly code = 'IBEX_BODY_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`the body is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a whole (decoded) body into one Buffer, at most `maxBytes` of it (decoded bytes: a small
 * gzip body cannot inflate past the bound); past it, rejects with BodyTooLargeError. Listens for
 * 'data' rather than iterating with `for await` (the async iterator costs a promise and an
 * allocation per chunk, on every request); stream.finished reports the end, an error, or a close
 * before the end, as the iterator did.
 */
export function readAll(body: Readable, maxBytes = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    let settled = false;
    const onData = (chunk: Buffer | Uint8Array) => {
      total += chunk.length;
      if (total > maxBytes) {
        settled = true;
        body.off('data', onData);
        body.destroy();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    };
    body.on('data', onData);
    const cleanup = finished(body, (err) => {
      cleanup();
      body.off('data', onData);
      if (settled) return;
      if (err) reject(err);
      else resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    });
  });
}
