// Who may call /admin/*: the admin token (everything) or, when configured, a read-only token (GET and
// HEAD only). Both are compared in constant time over SHA-256 digests, so neither the tokens nor their
// lengths leak through timing. One onRequest hook guards the whole admin scope (src/server/app.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UserError } from '../errors.js';
import { AdminError } from './errors.js';

export type AdminRole = 'admin' | 'read';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Constant-time check of `Authorization: Bearer <token>`: both sides are hashed first, so the
 * comparison is over equal-length buffers and leaks neither the token nor its length.
 */
export function bearerMatches(header: string | undefined, expectedDigest: Buffer): boolean {
  if (typeof header !== 'string') return false;
  const match = /^Bearer[ \t]+(.+)$/i.exec(header.trim());
  if (!match) return false;
  return timingSafeEqual(sha256(match[1]!), expectedDigest);
}

export class AdminTokens {
  private readonly admin: Buffer;
  private readonly read: Buffer | null;

  constructor(adminToken: string, readToken?: string | null) {
    // An empty token would let `Bearer ` style mistakes through; refuse to start instead.
    if (!adminToken) throw new Error('AdminTokens: the admin token must not be empty');
    this.admin = sha256(adminToken);
    this.read = readToken ? sha256(readToken) : null;
  }

  /** The role the Authorization header grants, or null. Both digests are always compared (no early exit). */
  roleOf(authorization: string | undefined): AdminRole | null {
    const admin = bearerMatches(authorization, this.admin);
    const read = this.read !== null && bearerMatches(authorization, this.read);
    return admin ? 'admin' : read ? 'read' : null;
  }
}

/** IBEX_ADMIN_READ_TOKEN, checked against the admin token; null when unset. */
export function readOnlyAdminToken(env: NodeJS.ProcessEnv, adminToken: string): string | null {
  const token = env.IBEX_ADMIN_READ_TOKEN?.trim();
  if (!token) return null;
  if (token === adminToken) {
    throw new UserError('IBEX_ADMIN_READ_TOKEN is the admin token itself', 'give the read-only token its own value (e.g. `openssl rand -base64 32`), or unset it');
  }
  return token;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

export function deny(reply: FastifyReply, role: AdminRole | null): FastifyReply {
  if (role === null) {
    const err = new IbexError('IBEX_ERR_ADMIN_TOKEN');
    return reply.code(err.status).header('www-authenticate', 'Bearer').send(err.toBody());
  }
  const err = new AdminError('IBEX_ERR_ADMIN_READ_ONLY');
  return reply.code(err.status).send(err.toBody());
}

/** The admin scope's onRequest hook: 401 without a valid token, 403 when the read-only token tries to write. */
export function adminAuthHook(tokens: AdminTokens) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const role = tokens.roleOf(request.headers.authorization);
    if (role === 'admin' || (role === 'read' && READ_METHODS.has(request.method))) return;
    await deny(reply, role);
  };
}
