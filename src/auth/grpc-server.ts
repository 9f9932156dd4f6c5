// `ibex auth-server`: the Auth gRPC service over a TokenStore and RevocationLog.
//
// WatchRevocations is fed by ONE poller of the revocation log (every ≤ 250 ms) plus the bus, shared
// by all streams, so N gateways cost the log 4 queries/s, not 4·N. Each new stream first catches up
// from its after_seq with its own reads, then receives the live feed; a per-stream "sent" set
// removes the overlap. Sync markers (kind "sync") carry the poller's cursor once the stream has
// caught up: everything up to it was sent, so the client may resume from it after a reconnect.
import * as grpc from '@grpc/grpc-js';
import { LRUCache } from 'lru-cache';
import type { Bus, RevocationEvent, RevocationLog, TokenStore } from '../stores/ports.js';
import { authService, SYNC_KIND, type CreatedSinceReplyWire, type RevocationEventWire, type ValidateReplyWire } from './grpc-proto.js';
import { isTokenHash, spendLimitsOf } from './principal.js';
import { isRevocationEvent } from './revocation-watcher.js';

export interface AuthServerOptions {
  port: number;
  host?: string;
  tokens: TokenStore;
  revocations: RevocationLog;
  bus?: Bus;
  log?: (line: string) => void;
  /** Revocation log poll, ms (at most 250). Default 250. */
  pollIntervalMs?: number;
  /** Sync-marker heartbeat on idle streams, ms. Default 5000. */
  heartbeatMs?: number;
}

export interface AuthServer {
  port: number;
  /** Ends the watch streams, lets in-flight calls finish (≤ 2 s), then stops. */
  close(): Promise<void>;
}

type Listener = {
  event(e: RevocationEvent): void;
  sync(cursor: number): void;
};

/** The shared revocation feed: one poller + the bus, fanned out to every stream. */
class RevocationFeed {
  cursor = 0;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly log: RevocationLog,
    private readonly bus: Bus | undefined,
    private readonly intervalMs: number,
    private readonly logLine: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe =
      this.bus?.subscribe('revocation', (msg) => {
        if (isRevocationEvent(msg)) for (const l of this.listeners) l.event(msg);
      }) ?? null;
    this.cursor = await this.log.head();
    this.schedule();
  }

  add(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll().finally(() => this.schedule()), this.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    try {
      let moved = false;
      for (;;) {
        const page = await this.log.since(this.cursor);
        for (const e of page) {
          this.cursor = Math.max(this.cursor, e.seq);
          for (const l of this.listeners) l.event(e);
        }
        moved ||= page.length > 0;
        if (page.length === 0) break;
      }
      if (moved) for (const l of this.listeners) l.sync(this.cursor);
      if (this.failing) this.logLine('auth-server: revocation log reachable again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logLine(`auth-server: revocation log unavailable (${(err as Error).message})`);
      this.failing = true;
    }
  }
}

function toWire(e: RevocationEvent): RevocationEventWire {
  return { seq: e.seq, kind: e.kind, subject: e.subject, patId: e.patId ?? '', at: e.at };
}

function unavailable(err: unknown): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAVAILABLE, details: `store unavailable: ${(err as Error).message}` };
}

export async function startAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const log = opts.log ?? (() => {});
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const feed = new RevocationFeed(opts.revocations, opts.bus, Math.min(opts.pollIntervalMs ?? 250, 250), log);
  await feed.start();
  const streams = new Set<grpc.ServerWritableStream<{ afterSeq: number }, RevocationEventWire>>();

  const server = new grpc.Server();
  server.addService(authService().service, {
    validateToken(
      call: grpc.ServerUnaryCall<{ tokenHash: string }, ValidateReplyWire>,
      callback: grpc.sendUnaryData<ValidateReplyWire>,
    ) {
      const hash = call.request.tokenHash;
      if (!isTokenHash(hash)) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'token_hash must be a lowercase hex SHA-256' });
        return;
      }
      opts.tokens.findByHash(hash).then(
        (pat) => {
          if (!pat || pat.revokedAt !== null) return callback(null, { valid: false, patId: '', agents: [] });
          callback(null, {
            valid: true,
            patId: pat.id,
            agents: pat.agents,
            ...(pat.rpm !== null ? { rpm: pat.rpm } : {}),
            ...(pat.expiresAt !== null ? { expiresAt: pat.expiresAt } : {}),
            ...(spendLimitsOf(pat) ? { limitsJson: JSON.stringify(spendLimitsOf(pat)) } : {}),
          });
        },
        (err: unknown) => callback(unavailable(err)),
      );
    },

    createdSince(
      call: grpc.ServerUnaryCall<{ cursor: number }, CreatedSinceReplyWire>,
      callback: grpc.sendUnaryData<CreatedSinceReplyWire>,
    ) {
      opts.tokens.createdSince(call.request.cursor).then(
        (page) => callback(null, page),
        (err: unknown) => callback(unavailable(err)),
      );
    },

    watchRevocations(call: grpc.ServerWritableStream<{ afterSeq: number }, RevocationEventWire>) {
      streams.add(call);
      const sent = new LRUCache<number, true>({ max: 10_000 });
      let caughtUp = false;
      let lastSync = Math.max(0, call.request.afterSeq);
      /** Events at or below this the client already has (null: not known yet, send everything). */
      let floor: number | null = call.request.afterSeq >= 0 ? call.request.afterSeq : null;
      const send = (e: RevocationEvent) => {
        if (e.seq >= 0) {
          // seq < 0 marks an ad-hoc push (not in the log): always forwarded
          if ((floor !== null && e.seq <= floor) || sent.has(e.seq)) return;
          sent.set(e.seq, true);
        }
        call.write(toWire(e));
      };
      const sync = (cursor: number) => {
        if (!caughtUp || cursor < lastSync) return;
        lastSync = cursor;
        call.write({ seq: cursor, kind: SYNC_KIND, subject: '', patId: '', at: Date.now() });
      };
      // Live events flow from the moment we subscribe; the catch-up read below starts after that,
      // so nothing committed in between can fall through the gap.
      const detach = feed.add({ event: send, sync });
      const heartbeat = setInterval(() => sync(lastSync), heartbeatMs);
      heartbeat.unref();
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        detach();
        clearInterval(heartbeat);
        streams.delete(call);
      };
      call.on('cancelled', end);
      call.on('close', end);
      call.on('error', end);
      call.on('finish', end);

      void (async () => {
        try {
          // "From the head" means the log's head now, not the shared poller's (up to 250 ms older)
          // cursor, which would replay events the client never needed.
          if (call.request.afterSeq < 0) floor = lastSync = await opts.revocations.head();
          let cursor = lastSync;
          for (;;) {
            const page = await opts.revocations.since(cursor);
            for (const e of page) {
              send(e);
              cursor = Math.max(cursor, e.seq);
            }
            if (page.length === 0 || ended) break;
          }
          caughtUp = true;
          sync(cursor); // always written: it tells a client that started "from head" where that is
        } catch (err) {
          if (ended) return;
          end();
          // A server stream reports a status by emitting it as an error.
          call.emit('error', unavailable(err));
        }
      })();
    },
  });

  const host = opts.host ?? '127.0.0.1';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${opts.port}` : `${host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  }).catch((err: unknown) => {
    feed.stop();
    throw err;
  });

  return {
    port,
    async close() {
      feed.stop();
      for (const call of streams) call.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
