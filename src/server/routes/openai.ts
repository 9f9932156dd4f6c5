// The OpenAI-compatible surface: POST /v1/chat/completions and GET /v1/models.
import type { FastifyInstance } from 'fastify';
import type { ProviderRegistry } from '../../providers/index.js';
import { mapUpstreamException, mapUpstreamStatus } from '../../providers/openai/error-map.js';
import { decodedBody, readAll } from '../../pipeline/decode.js';

export interface OpenAIRouteDeps {
  chat: (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => Promise<void>;
  providers: ProviderRegistry;
}

export function registerOpenAIRoutes(app: FastifyInstance, deps: OpenAIRouteDeps): void {
  app.post('/v1/chat/completions', deps.chat);

  // The provider's model list, for authenticated callers (SDKs call it to probe the endpoint).
  app.get('/v1/models', async (req, reply) => {
    const ac = new AbortController();
    reply.raw.once('close', () => ac.abort());
    let res;
    try {
      res = await deps.providers.default.send({ method: 'GET', path: '/models' }, { requestId: String(reply.getHeader('x-request-id') ?? req.id), signal: ac.signal });
    } catch (err) {
      throw mapUpstreamException(err);
    }
    // Decoded like chat bodies: a provider may gzip its reply whatever we asked for.
    let text: string;
    try {
      text = (await readAll(decodedBody(res.body, res.headers['content-encoding']))).toString('utf8');
    } catch (err) {
      throw mapUpstreamException(err);
    }
    if (res.status >= 400) throw mapUpstreamStatus(res.status, res.headers, text);
    return reply.code(200).header('content-type', 'application/json').send(text);
  });
}
