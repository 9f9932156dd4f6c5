// Request bodies sent with `Content-Encoding: gzip` (or deflate, br) are decoded before parsing. The
// body limit applies to the decoded bytes, so a small compressed body cannot inflate past it.
import type { FastifyInstance } from 'fastify';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { IbexError } from '../errors.js';

export function installRequestDecoding(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request, and most bodies are not encoded, so
  // it answers at once instead of through a promise and a microtask.
  app.addHook('preParsing', (req, _reply, payload, done) => {
    const header = req.headers['content-encoding'];
    if (header === undefined) return done(null, payload);
    const enc = String(header).trim().toLowerCase();
    if (enc === '' || enc === 'identity') return done(null, payload);
    const decoder = enc === 'gzip' || enc === 'x-gzip' ? createGunzip() : enc === 'deflate' ? createInflate() : enc === 'br' ? createBrotliDecompress() : null;
    if (!decoder) {
      return done(new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `Content-Encoding ${enc} is not supported (use gzip, deflate or br).`, status: 415 }));
    }
    payload.on('error', (err) => decoder.destroy(err));
    decoder.on('error', () => payload.destroy());
    // fastify checks the limit on what this stream yields; the encoded length is informational.
    (decoder as unknown as { receivedEncodedLength: number }).receivedEncodedLength = 0;
    payload.on('data', (c: Buffer) => ((decoder as unknown as { receivedEncodedLength: number }).receivedEncodedLength += c.length));
    done(null, payload.pipe(decoder));
  });
}
