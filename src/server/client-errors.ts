// Errors that happen before a request reaches a route: Node's HTTP parser (broken framing, control
// characters in headers, oversized headers) and fastify's router (malformed percent-encoding). They
// get the same OpenAI-shaped body as every other error.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError } from '../errors.js';

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new IbexError('IBEX_ERR_HEADERS_TOO_LARGE')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request was not received in time.', status: 408 })
        : new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request is not valid HTTP.' });
  const body = JSON.stringify(e.toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** fastify's `frameworkErrors`: errors of its router and request setup (e.g. FST_ERR_BAD_URL). */
export function frameworkErrorHandler(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply): void {
  const e = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `Invalid request: ${err.message}` });
  void reply.code(e.status).send(e.toBody());
}
