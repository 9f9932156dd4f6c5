// Answering a request whose (large) body the gateway will not read, e.g. a refused PAT.
//
// Node's default after an answer is to read and discard the rest of the body to keep the connection
// alive: for a flood of large bodies that is every upload read at full speed, each chunk allocated
// (~45 MB of RSS for 40 × 4 MiB). Closing right after the answer is no better: unread bytes turn the
// close into a TCP reset, which can destroy the answer before the client reads it (EPIPE; SDKs retry).
//
// So the answer is written on the socket with `Connection: close` and a half-close (FIN), and the body
// is left unread: Node's parser stops reading the socket as soon as the request's small buffer is full,
// the client reads the answer and closes (fetch/undici and curl stop uploading on a final answer), and
// a client that does not is cut after UNREAD_LINGER_MS.
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';

/** How long a connection whose body was left unread may stay open for the client to close it. */
export const UNREAD_LINGER_MS = 2_000;
/** Bodies up to this size are cheaper to drain (the connection is kept); larger ones are left unread. */
export const DRAIN_MAX_BYTES = 64 * 1024;

/** true when the request announces a body larger than DRAIN_MAX_BYTES (or one of unknown length). */
export function hasLargeBody(headers: Record<string, string | string[] | undefined>): boolean {
  const len = headers['content-length'];
  if (typeof len === 'string') return Number(len) > DRAIN_MAX_BYTES;
  return headers['transfer-encoding'] !== undefined;
}

/** Sends `body` (JSON) with the reply's headers, half-closes, and never reads the request body. */
export function answerLeavingBodyUnread(reply: FastifyReply, status: number, body: unknown): void {
  reply.hijack();
  const socket = reply.raw.socket;
  if (!socket || socket.destroyed) return;
  const text = JSON.stringify(body);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  const headers = reply.getHeaders();
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || name === 'content-length' || name === 'connection' || name === 'content-type') continue;
    head += `${name}: ${Array.isArray(v) ? v.join(', ') : String(v)}\r\n`;
  }
  head += `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n`;
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(), UNREAD_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(head + text);
}
