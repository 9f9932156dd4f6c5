// Request bodies sent with `Content-Encoding: gzip` (or deflate, br) are decoded before parsing. The
// body limit applies to the decoded bytes, so a small compressed body cannot inflate past it.
import type { FastifyInstance } from 'fastify';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { IbexError } from '../errors.js';

export function installRequestDecoding(app: FastifyInstance): void {
  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (enc === '' || enc === 'identity') return payload;
    const decoder = enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'deflate' ? createInflate() : enc === 'br' ? createBrotliDecompress() : null;
    if (!decoder) {
      throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `Content-Encoding ${enc} is not supported (use gzip, deflate or br).`, status: 415 });
    }
    payload.on('error', (err) => decoder.destroy(err));
    decoder.on('error', () => payload.destroy());
    // fastify checks the limit on what this stream yields; the encoded length is informational.
    (decoder as unknown as { receivedEncodedLength: number }).receivedEncodedLength = 0;
    payload.on('data', (c: Buffer) => ((decoder as unknown as { receivedEncodedLength: number }).receivedEncodedLength += c.length));
    return payload.pipe(decoder);
  });
}
