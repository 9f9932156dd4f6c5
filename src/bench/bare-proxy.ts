// The floor `ibex bench --baseline bare` compares ibex with: fastify + one undici keep-alive Pool,
// forwarding POST /v1/chat/completions byte for byte. No auth, no directive, no session, no trace,
// no JSON parsing (the body is passed through as a Buffer), the response piped back as it arrives
// (so SSE chunks are not buffered). Whatever latency this adds over calling the upstream directly is
// the cost of the framework, the HTTP client and the extra hop on this machine — the part of ibex's
// overhead that is not ibex's own.
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import type { AddressInfo } from 'node:net';

export interface BareProxyOptions {
  /** OpenAI-compatible base URL ending in /v1 */
  upstreamUrl: string;
  port?: number;
  host?: string;
  /** keep-alive connections to the upstream (default 256, like ibex's upstreamConnections) */
  connections?: number;
}

export interface BareProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Response headers worth passing back; hop-by-hop ones (connection, transfer-encoding, keep-alive) are not. */
const PASSED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'cache-control', 'retry-after'];

export async function startBareProxy(opts: BareProxyOptions): Promise<BareProxy> {
  const base = new URL(opts.upstreamUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, { connections: opts.connections ?? 256, pipelining: 1, keepAliveTimeout: 30_000 });
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/v1/chat/completions', async (req, reply) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = req.headers.authorization;
    if (auth) headers.authorization = auth;
    const res = await pool.request({
      path: basePath + '/chat/completions',
      method: 'POST',
      headers,
      body: req.body as Buffer,
    });
    reply.code(res.statusCode);
    for (const name of PASSED_HEADERS) {
      const v = res.headers[name];
      if (v !== undefined) reply.header(name, v);
    }
    return reply.send(res.body);
  });

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await app.close();
      await pool.close();
    },
  };
}
