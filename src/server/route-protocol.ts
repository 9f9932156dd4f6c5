// The protocol a route speaks (set in its config by routes/openai.ts), so errors raised before or
// outside the pipeline (auth, body parsing) still answer in the caller's shape.
import type { FastifyRequest } from 'fastify';
import type { IbexError } from '../errors.js';
import type { InboundProtocol } from '../protocols/types.js';

export function routeProtocol(req: FastifyRequest): InboundProtocol<never> | undefined {
  return (req.routeOptions?.config as { protocol?: InboundProtocol<never> } | undefined)?.protocol;
}

/** The error body in the route's protocol (OpenAI's shape when the route names none). */
export function errorBodyFor(req: FastifyRequest, e: IbexError): unknown {
  const protocol = routeProtocol(req);
  if (!protocol) return e.toBody();
  return protocol.renderError({ status: e.status, code: e.code, type: e.type, message: e.message, param: e.param });
}
