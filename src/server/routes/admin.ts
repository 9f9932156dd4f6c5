// Admin routes: `GET /admin/v1/events`, the live trace stream behind `ibex tail`, and
// `GET /admin/v1/providers`, this replica's providers, key pools and health (`ibex providers`), and
// `GET /admin/v1/usage`, the totals behind `ibex usage` (same filters: by, since, until, agent).
//
// Each trace published on the bus topic 'trace' becomes one SSE event (`event: trace`). A slow
// client must never make the gateway grow memory or slow down the publisher (the memory bus
// delivers synchronously on the request path): each connection has a bounded queue, and when it
// is full further events for THAT client are dropped, counted, and reported to it as
// `event: dropped` once it catches up.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { IbexError } from '../../errors.js';
import type { Bus, Trace, UsageQuery, UsageRow } from '../../stores/ports.js';
import type { ProviderRegistry } from '../../providers/index.js';
import { providersView } from '../../providers/status-view.js';
import { parseUsageQuery, usageReport, UsageQueryError } from '../../usage/report.js';
import { bearerMatches, sha256 } from '../../admin/auth.js';

// The token check is shared with the admin API (src/admin/auth.ts); re-exported for existing callers.
export { bearerMatches };

export interface AdminRoutesOptions {
  bus: Bus;
  /** The bearer token `/admin/*` requires */
  adminToken: string;
  /** The read-only admin token (IBEX_ADMIN_READ_TOKEN), which may watch too; null/absent = none */
  readToken?: string | null;
  /** Comment heartbeat interval; keeps proxies from closing an idle stream and lets clients detect a dead one. Default 15 s. */
  heartbeatMs?: number;
  /** Events queued per client while its socket is backed up, before dropping. Default 1000. */
  maxQueuedEvents?: number;
  /** The current provider registry (ibex.yaml reloads replace it); absent → no providers route */
  providers?: () => ProviderRegistry;
  /** Usage totals from the trace store; absent: /admin/v1/usage is not served */
  usage?: (q: UsageQuery) => Promise<UsageRow[]>;
}

export const USAGE_PATH = '/admin/v1/usage';

export const EVENTS_PATH = '/admin/v1/events';
export const PROVIDERS_PATH = '/admin/v1/providers';

export function registerAdminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): void {
  // An empty token would let `Bearer ` style mistakes through; refuse to start instead.
  if (!opts.adminToken) throw new Error('registerAdminRoutes: adminToken must not be empty');
  const expectedDigest = sha256(opts.adminToken);
  const readDigest = opts.readToken ? sha256(opts.readToken) : null;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxQueued = opts.maxQueuedEvents ?? 1000;
  // Every route here only reads: the admin token or the read-only one may call them.
  const mayRead = (auth: string | undefined) => bearerMatches(auth, expectedDigest) || (readDigest !== null && bearerMatches(auth, readDigest));
  const open = new Set<SseConnection>();
  // One trace goes to every subscribed client; serialise it once, not once per client.
  const wireCache = new WeakMap<object, string>();

  // Open streams would keep `app.close()` waiting forever; end them first so clients reconnect
  // to whichever process replaces this one.
  app.addHook('preClose', (done) => {
    for (const conn of open) conn.end();
    done();
  });

  const providers = opts.providers;
  if (providers) {
    app.get(PROVIDERS_PATH, (request, reply) => {
      if (!mayRead(request.headers.authorization)) {
        const err = new IbexError('IBEX_ERR_ADMIN_TOKEN');
        return reply.code(err.status).header('www-authenticate', 'Bearer').send(err.toBody());
      }
      return reply.code(200).header('cache-control', 'no-store').send(providersView(providers()));
    });
  }

  const usage = opts.usage;
  if (usage) {
    app.get(USAGE_PATH, async (request, reply) => {
      if (!mayRead(request.headers.authorization)) {
        const err = new IbexError('IBEX_ERR_ADMIN_TOKEN');
        return reply.code(err.status).header('www-authenticate', 'Bearer').send(err.toBody());
      }
      const query = (request.query ?? {}) as Record<string, unknown>;
      const text = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
      let q: UsageQuery;
      try {
        q = parseUsageQuery({ by: text('by'), since: text('since'), until: text('until'), agent: text('agent') });
      } catch (err) {
        if (!(err instanceof UsageQueryError)) throw err;
        const e = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: err.message, param: err.param });
        return reply.code(e.status).send(e.toBody());
      }
      return reply.send(usageReport(q, await usage(q)));
    });
  }

  app.get(EVENTS_PATH, (request, reply) => {
    if (!mayRead(request.headers.authorization)) {
      const err = new IbexError('IBEX_ERR_ADMIN_TOKEN');
      return reply.code(err.status).header('www-authenticate', 'Bearer').send(err.toBody());
    }
    const query = request.query as Record<string, unknown> | undefined;
    const agent = typeof query?.agent === 'string' && query.agent !== '' ? query.agent : null;

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Tells the client it is connected before the first trace arrives.
    raw.write(': connected\n\n');

    const conn = new SseConnection(raw, maxQueued);
    open.add(conn);

    const unsubscribe = opts.bus.subscribe('trace', (message) => {
      if (typeof message !== 'object' || message === null) return;
      if (agent !== null && (message as Trace).agent !== agent) return;
      let wire = wireCache.get(message);
      if (wire === undefined) {
        wire = `event: trace\ndata: ${JSON.stringify(message)}\n\n`;
        wireCache.set(message, wire);
      }
      conn.send(wire);
    });
    const heartbeat = setInterval(() => conn.ping(), heartbeatMs);
    heartbeat.unref();

    raw.on('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      open.delete(conn);
      conn.closed = true;
    });
  });
}

/** One client's stream with a bounded backlog. */
class SseConnection {
  closed = false;
  private readonly queue: string[] = [];
  private head = 0;
  private backedUp = false;
  private dropped = 0;

  constructor(
    private readonly raw: ServerResponse,
    private readonly maxQueued: number,
  ) {
    raw.on('drain', () => this.flush());
  }

  send(chunk: string): void {
    if (this.closed) return;
    if (!this.backedUp) {
      if (!this.raw.write(chunk)) this.backedUp = true;
      return;
    }
    if (this.queue.length - this.head >= this.maxQueued) {
      this.dropped++;
      return;
    }
    // Keep the order the client sees: the gap notice goes where the gap was.
    if (this.dropped > 0) this.queueDroppedNotice();
    this.queue.push(chunk);
  }

  /** Heartbeat: only on an idle-looking stream; a backed-up one is not idle and needs no filler. */
  ping(): void {
    if (this.closed || this.backedUp) return;
    if (!this.raw.write(': ping\n\n')) this.backedUp = true;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.end();
  }

  private flush(): void {
    this.backedUp = false;
    while (this.head < this.queue.length) {
      const chunk = this.queue[this.head++]!;
      if (!this.raw.write(chunk)) {
        this.backedUp = true;
        break;
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (!this.backedUp && this.dropped > 0) {
        const notice = droppedEvent(this.dropped);
        this.dropped = 0;
        if (!this.raw.write(notice)) this.backedUp = true;
      }
    } else if (this.head > 1024) {
      // Compact now and then so the array does not keep the consumed prefix alive.
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private queueDroppedNotice(): void {
    this.queue.push(droppedEvent(this.dropped));
    this.dropped = 0;
  }
}

function droppedEvent(count: number): string {
  return `event: dropped\ndata: ${JSON.stringify({ count })}\n\n`;
}
