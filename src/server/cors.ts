// CORS for browser clients, off by default (IBEX_CORS_ORIGINS: an allowlist of exact origins, or `*`).
// A PAT in a web page is visible to its users, so only origins an operator names are let in. Preflights
// are answered here, before routing and auth (a browser sends them without credentials).
import type { FastifyInstance } from 'fastify';

const ALLOW_HEADERS = 'authorization, x-api-key, content-type, x-ibex-agent, x-ibex-session, x-request-id, openai-beta, anthropic-version, anthropic-beta';
const EXPOSE_HEADERS = 'x-ibex-session, x-request-id, x-ibex-directive-version, x-ibex-provider, x-ibex-served-model, server-timing, retry-after';

export function installCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !(any || allowed.has(origin))) return;
    void reply.header('access-control-allow-origin', any ? '*' : origin).header('vary', 'origin');
    if (req.method === 'OPTIONS') {
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS')
        .header('access-control-allow-headers', ALLOW_HEADERS)
        .header('access-control-max-age', '600')
        .send();
    }
    void reply.header('access-control-expose-headers', EXPOSE_HEADERS);
  });
}
