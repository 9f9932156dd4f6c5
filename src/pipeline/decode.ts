// Provider bodies with a content-encoding (gzip, deflate, br) are decoded before ibex reads or forwards
// them, so the client always gets identity-encoded bytes and the checkpoint sees text. We never ask for
// compression, but some OpenAI-compatible servers send it anyway.
import { Readable } from 'node:stream';
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

/** Reads a whole (decoded) body into one Buffer. */
export async function readAll(body: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
