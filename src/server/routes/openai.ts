// The provider-facing surface: OpenAI's routes and Anthropic's Messages. Conversation and model-call routes go through the core pipeline with
// their protocol (src/protocols/); the stateful Responses routes, model lookups and the allowlisted
// prefixes are relayed as they are (src/pipeline/relay.ts). Every route here is behind the auth hook.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderRegistry } from '../../providers/index.js';
import { mapUpstreamException, mapUpstreamStatus } from '../../providers/openai/error-map.js';
import { decodedBody, readAll } from '../../pipeline/decode.js';
import type { InboundProtocol } from '../../protocols/types.js';
import { anthropicMessages } from '../../protocols/anthropic-messages/protocol.js';
import { INBOUND_PROTOCOLS, routeOfProtocol } from '../../protocols/inbound.js';
import type { Provider } from '../../providers/types.js';
import { aliasEntry, listShapeOf, modelListBody, parseModelList } from '../../providers/model-list.js';

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface OpenAIRouteDeps {
  /** The core pipeline's handler for one inbound protocol */
  protocolHandler(protocol: InboundProtocol<never>): Handler;
  /** Forwards a request as it is (stateful routes, lookups, allowlisted prefixes) */
  relay: Handler;
  /** POST /v1/messages/count_tokens */
  countTokens: Handler;
  /** The current registry (ibex.yaml reloads replace it) */
  providers(): ProviderRegistry;
  /** `/v1/*` prefixes relayed as they are (setting `passthrough`) */
  passthrough: readonly string[];
}

export function registerOpenAIRoutes(app: FastifyInstance, deps: OpenAIRouteDeps): void {
  // The route's protocol rides in its config: the auth hook and the error handler answer in its shape.
  for (const protocol of INBOUND_PROTOCOLS) app.post(routeOfProtocol(protocol), { config: { protocol } }, deps.protocolHandler(protocol));
  app.post('/v1/messages/count_tokens', { config: { protocol: anthropicMessages } }, deps.countTokens);

  // The first provider's model list plus the ibex.yaml names and aliases (src/providers/model-list.ts),
  // for authenticated callers (SDKs call it to probe the endpoint). With names configured, a provider
  // whose list fails still leaves those; without, its error is the answer.
  app.get('/v1/models', async (req, reply) => {
    const registry = deps.providers();
    const aliases = registry.aliases();
    const provider = registry.default;
    let text: string | null = null;
    try {
      text = await fetchModelList(provider, String(reply.getHeader('x-request-id') ?? req.id), reply);
    } catch (err) {
      if (aliases.length === 0) throw err;
    }
    return reply.code(200).header('content-type', 'application/json').send(modelListBody(parseModelList(text), aliases, provider.id, listShapeOf(req.headers)));
  });

  // Relayed routes: bodies are streams, never parsed (multipart uploads pass as they come).
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    // An ibex.yaml name is answered here (no provider knows it), like its entry in the list above.
    raw.get('/v1/models/:id', async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!deps.providers().aliases().includes(id)) return deps.relay(req, reply);
      return reply.code(200).header('content-type', 'application/json').send(aliasEntry(id, listShapeOf(req.headers)));
    });
    raw.get('/v1/responses/:id', deps.relay);
    raw.delete('/v1/responses/:id', deps.relay);
    raw.post('/v1/responses/:id/cancel', deps.relay);
    raw.get('/v1/responses/:id/input_items', deps.relay);
    raw.post('/v1/responses/input_tokens', deps.relay);
    for (const prefix of deps.passthrough) {
      const base = prefix.replace(/\/+$/, '');
      raw.route({ method: ['GET', 'POST', 'DELETE'], url: `${base}/*`, handler: deps.relay });
      raw.route({ method: ['GET', 'POST'], url: base, handler: deps.relay });
    }
  });
}

/** The provider's GET /models body; throws the mapped upstream error when it fails. */
async function fetchModelList(provider: Provider, requestId: string, reply: FastifyReply): Promise<string> {
  const ac = new AbortController();
  reply.raw.once('close', () => ac.abort());
  let res;
  try {
    res = await provider.send({ method: 'GET', path: '/models' }, { requestId, signal: ac.signal });
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
  return text;
}
