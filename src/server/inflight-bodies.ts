// A bound on the request bodies the gateway holds at once. A conversation request is read whole,
// parsed, re-serialised for the provider and copied for the ledger, so each byte of its body costs
// several in memory until the reply is sent; with a 32 MiB body limit, a few dozen large vision
// requests at once could take the process past its memory. Each request's declared Content-Length is
// reserved before its body is read and released when its response closes; one that would take the
// total past the bound gets 503 server_busy (with retry-after) at once, before anything is read.
//
// Declared lengths only: a body without Content-Length (chunked) is bounded by the body limit and not
// counted, and the check costs one addition per request. Relayed routes (audio, images) stream their
// bodies and are not counted either.
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../errors.js';

export class InflightBodies {
  private held = 0;

  constructor(
    readonly maxBytes: number,
    /** Hears of each refusal (the ibex_server_busy_total counter) */
    private readonly onRefused: () => void = () => {},
  ) {}

  /** Reserves `bytes`; false when that would take the total past the bound (a lone body always fits). */
  reserve(bytes: number): boolean {
    if (this.held > 0 && this.held + bytes > this.maxBytes) {
      this.onRefused();
      return false;
    }
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  get bytes(): number {
    return this.held;
  }
}

/**
 * The preParsing hook of the conversation routes (those whose route config names a protocol). A body
 * declared over `bodyLimit` is not counted: it is refused with 413 without being read.
 */
export function installInflightBodyBound(app: FastifyInstance, bound: InflightBodies, bodyLimit: number): void {
  app.addHook('preParsing', (req, reply, payload, done) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > 0) || declared > bodyLimit || !(req.routeOptions.config as { protocol?: unknown } | undefined)?.protocol) return done(null, payload);
    if (!bound.reserve(declared)) {
      reply.header('retry-after', '1');
      return done(new IbexError('IBEX_ERR_SERVER_BUSY'));
    }
    // Released once, by whichever comes first: the response sent, or the connection gone.
    let held = true;
    const release = () => {
      if (held) {
        held = false;
        bound.release(declared);
      }
    };
    reply.raw.once('finish', release);
    reply.raw.once('close', release);
    done(null, payload);
  });
}
