// Errors that happen before a request reaches a route: Node's HTTP parser (broken framing, control
// characters in headers, oversized headers) and fastify's router (malformed percent-encoding). They
// get the same OpenAI-shaped body as every other error.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError } from '../errors.js';

/**
 * How long a socket we answered with a parser error may keep sending before it is cut. Closing at
 * once while the client is still writing (a 1 MiB header, say) leaves unread bytes in the kernel's
 * receive buffer, so the close becomes a TCP reset, and a reset can make the client's kernel drop
 * the answer it had not read yet. Reading and discarding for a moment first ("lingering close", as
 * nginx and Apache do) lets the answer arrive; the bound keeps a client that never stops from
 * holding the socket.
 */
export const LINGER_MS = 1_000;

const answered = new WeakSet<Socket>();

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer; a socket already answered needs no second answer.
  if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new IbexError('IBEX_ERR_HEADERS_TOO_LARGE')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request was not received in time.', status: 408 })
        : new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'The request is not valid HTTP.' });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(e.toBody());
  lingeringClose(
    socket,
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Writes `answer`, half-closes, and discards whatever the client still sends for up to LINGER_MS. */
function lingeringClose(socket: Socket, answer: string): void {
  // The HTTP parser is done with this socket: nothing it reads from now on is a request.
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The client's own end (or a reset) finishes it early.
  socket.once('end', () => socket.destroy());
  socket.end(answer);
  socket.resume();
}

/** fastify's `frameworkErrors`: errors of its router and request setup (e.g. FST_ERR_BAD_URL). */
export function frameworkErrorHandler(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply): void {
  const e = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `Invalid request: ${err.message}` });
  void reply.code(e.status).send(e.toBody());
}
