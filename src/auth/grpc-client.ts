// The gateway's side of `ibex auth-server`: validate a token hash (with a deadline on every call),
// feed the bloom filter, and follow revocations over a stream that reconnects by itself.
import * as grpc from '@grpc/grpc-js';
import type { RevocationEvent, SpendLimits } from '../stores/ports.js';
import { authService, SYNC_KIND, type CreatedSinceReplyWire, type RevocationEventWire, type ValidateReplyWire } from './grpc-proto.js';
import { spendLimitsOf, type Principal, type TokenIndexSource, type TokenValidator } from './principal.js';
import type { RevocationStream } from './revocation-watcher.js';

export interface GrpcTokenValidatorOptions {
  /** `grpc://host:port` (port defaults to 50051) */
  url: string;
  /**
   * Deadline of ValidateToken when the caller gives none. Default 250 ms: well above a healthy
   * localhost / same-zone round trip (≈1 ms), low enough that a stalled server turns into a quick
   * 503 rather than a hung request.
   */
  deadlineMs?: number;
  /** Deadline of CreatedSince (a full bloom rebuild reads every hash). Default 5000 ms. */
  indexDeadlineMs?: number;
  /** Watch stream reconnect backoff, ms. Default 100 → 2000 (doubling, with jitter). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** No message (events or heartbeats) on the watch stream for this long → reconnect. Default 15 s. */
  watchIdleMs?: number;
  log?: (line: string) => void;
}

interface AuthClient extends grpc.Client {
  validateToken(
    req: { tokenHash: string },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: ValidateReplyWire) => void,
  ): grpc.ClientUnaryCall;
  createdSince(
    req: { cursor: number },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: CreatedSinceReplyWire) => void,
  ): grpc.ClientUnaryCall;
  watchRevocations(req: { afterSeq: number }, opts?: grpc.CallOptions): grpc.ClientReadableStream<RevocationEventWire>;
}

/** Thrown when the auth server cannot answer (down, deadline exceeded): the cache maps it to 503. */
export class AuthServerError extends Error {
  constructor(
    message: string,
    readonly grpcCode: grpc.status,
  ) {
    super(message);
    this.name = 'AuthServerError';
  }
}

/** `grpc://host:port` → `host:port` as grpc-js wants it. */
export function grpcTarget(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'grpc:') throw new Error(`auth url must be grpc://host:port, got ${u.protocol}`);
  return `${u.hostname}:${u.port || '50051'}`;
}

export class GrpcTokenValidator implements TokenValidator, TokenIndexSource {
  readonly url: string;
  private readonly client: AuthClient;
  private readonly deadlineMs: number;
  private readonly indexDeadlineMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly watchIdleMs: number;
  private readonly log: (line: string) => void;
  private readonly watches = new Set<() => void>();

  constructor(opts: GrpcTokenValidatorOptions) {
    this.url = opts.url;
    this.deadlineMs = opts.deadlineMs ?? 250;
    this.indexDeadlineMs = opts.indexDeadlineMs ?? 5000;
    this.reconnectMinMs = opts.reconnectMinMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 2000;
    this.watchIdleMs = opts.watchIdleMs ?? 15_000;
    this.log = opts.log ?? (() => {});
    const Client = authService();
    this.client = new Client(grpcTarget(opts.url), grpc.credentials.createInsecure(), {
      // grpc-js backs off up to 120 s by default after a failed connect: far too long to notice
      // that a restarted auth server is back.
      'grpc.initial_reconnect_backoff_ms': this.reconnectMinMs,
      'grpc.max_reconnect_backoff_ms': this.reconnectMaxMs,
      // The first CreatedSince carries every hash (~70 bytes each on the wire).
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
    }) as unknown as AuthClient;
  }

  validate(hash: string, opts: { deadlineMs?: number } = {}): Promise<Principal | null> {
    const ms = opts.deadlineMs ?? this.deadlineMs;
    return new Promise((resolve, reject) => {
      this.client.validateToken({ tokenHash: hash }, { deadline: Date.now() + ms }, (err, reply) => {
        if (err || !reply) return reject(this.wrap(err, 'ValidateToken'));
        if (!reply.valid) return resolve(null);
        resolve({
          patId: reply.patId,
          hash,
          agents: reply.agents,
          rpm: reply.rpm ?? null,
          expiresAt: reply.expiresAt ?? null,
          ...optionalLimits(reply.limitsJson),
        });
      });
    });
  }

  createdSince(cursor: number): Promise<{ hashes: string[]; cursor: number }> {
    return new Promise((resolve, reject) => {
      this.client.createdSince({ cursor }, { deadline: Date.now() + this.indexDeadlineMs }, (err, reply) => {
        if (err || !reply) return reject(this.wrap(err, 'CreatedSince'));
        resolve({ hashes: reply.hashes, cursor: reply.cursor });
      });
    });
  }

  /**
   * Follows revocations from `afterSeq` (< 0: from the server's head). Reconnects with backoff when
   * the stream breaks, resuming from the last sync cursor (events already seen may come again:
   * consumers dedupe). Returns a stop function.
   */
  watchRevocations(afterSeq: number, onEvent: (event: RevocationEvent) => void): () => void {
    let cursor = afterSeq;
    let stopped = false;
    let call: grpc.ClientReadableStream<RevocationEventWire> | null = null;
    let backoff = this.reconnectMinMs;
    let retryTimer: NodeJS.Timeout | null = null;
    let idleTimer: NodeJS.Timeout | null = null;
    let lost = false;

    const clearIdle = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
    };
    const armIdle = (current: grpc.ClientReadableStream<RevocationEventWire>) => {
      clearIdle();
      idleTimer = setTimeout(() => current.cancel(), this.watchIdleMs);
      idleTimer.unref();
    };

    const connect = () => {
      retryTimer = null;
      if (stopped) return;
      const current = this.client.watchRevocations({ afterSeq: cursor });
      call = current;
      armIdle(current);
      let done = false;
      const finish = (why: string) => {
        if (done) return;
        done = true;
        clearIdle();
        if (stopped) return;
        if (!lost) this.log(`auth: revocation stream from ${this.url} lost (${why}); reconnecting`);
        lost = true;
        const delay = backoff * (0.5 + Math.random() / 2);
        backoff = Math.min(this.reconnectMaxMs, backoff * 2);
        retryTimer = setTimeout(connect, delay);
        retryTimer.unref();
      };
      current.on('data', (m: RevocationEventWire) => {
        armIdle(current);
        backoff = this.reconnectMinMs;
        if (lost) this.log(`auth: revocation stream from ${this.url} back`);
        lost = false;
        if (m.kind === SYNC_KIND) {
          cursor = Math.max(cursor, m.seq);
        } else if (m.kind === 'pat' || m.kind === 'agent') {
          onEvent({ seq: m.seq, kind: m.kind, subject: m.subject, patId: m.patId || null, at: m.at });
        }
      });
      current.on('error', (err: grpc.ServiceError) => finish(err.details || err.message));
      current.on('end', () => finish('server ended the stream'));
    };

    const stop = () => {
      stopped = true;
      clearIdle();
      if (retryTimer) clearTimeout(retryTimer);
      call?.cancel();
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    connect();
    return stop;
  }

  /** The watch as a RevocationWatcher source, starting from the server's head. */
  revocationStream(): RevocationStream {
    return { name: 'grpc', start: (onEvent) => this.watchRevocations(-1, onEvent) };
  }

  close(): void {
    for (const stop of [...this.watches]) stop();
    this.client.close();
  }

  private wrap(err: grpc.ServiceError | null, method: string): AuthServerError {
    const code = err?.code ?? grpc.status.UNKNOWN;
    const what = code === grpc.status.DEADLINE_EXCEEDED ? 'deadline exceeded' : err?.details || err?.message || 'no reply';
    return new AuthServerError(`auth server ${this.url} ${method}: ${what}`, code);
  }
}

/** The PAT's limits from the wire (absent when it has none; an unreadable value means none). */
function optionalLimits(json: string | null | undefined): { limits?: SpendLimits } {
  if (!json) return {};
  try {
    const limits = spendLimitsOf(JSON.parse(json) as Partial<SpendLimits>);
    return limits ? { limits } : {};
  } catch {
    return {};
  }
}
