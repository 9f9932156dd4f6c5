// Every error fastify itself raises (body too large, bad JSON, unknown route) leaves as an OpenAI-shaped
// error from the catalog, like the pipeline's own.
import type { FastifyError, FastifyInstance } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import { answerLeavingBodyUnread } from './unread-body.js';
import { errorBodyFor } from './route-protocol.js';

export function fastifyErrorToIbex(err: FastifyError): IbexError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IbexError('IBEX_ERR_REQUEST_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `Invalid request body: ${err.message}` });
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && !err.code)) {
    return new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request body is not valid JSON.' });
  }
  if (err.statusCode === 413) return new IbexError('IBEX_ERR_REQUEST_TOO_LARGE');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new IbexError('IBEX_ERR_INVALID_REQUEST', { message: err.message, status: err.statusCode });
  }
  return new IbexError('IBEX_ERR_INTERNAL');
}

export function installErrorHandlers(app: FastifyInstance, logError: (message: string, err: unknown) => void): void {
  app.setErrorHandler((err: FastifyError | IbexError | UpstreamPassthroughError, req, reply) => {
    if (err instanceof IbexError) {
      void reply.code(err.status).headers(err.headers).send(errorBodyFor(req, err));
      return;
    }
    if (err instanceof UpstreamPassthroughError) {
      void reply.code(err.status).headers(err.headers).send(err.toBody());
      return;
    }
    const e = fastifyErrorToIbex(err as FastifyError);
    if (e.status >= 500) logError(`unhandled error on ${req.method} ${req.url.split('?')[0]} (request ${req.id})`, err);
    // An oversized body is still arriving: answer without reading (or resetting) it, so the client
    // reads the 413 instead of an EPIPE it would retry (see unread-body.ts).
    if (e.status === 413) return answerLeavingBodyUnread(reply, 413, errorBodyFor(req, e));
    void reply.code(e.status).send(errorBodyFor(req, e));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new IbexError('IBEX_ERR_NOT_FOUND', { message: `No route ${req.method} ${req.url.split('?')[0]}.` });
    void reply.code(404).send(e.toBody());
  });
}
