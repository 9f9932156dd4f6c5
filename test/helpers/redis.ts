// Redis for tests: where it is, whether it answers, a key prefix unique to the run, cleanup, and
// small TCP tools (a proxy that can be cut, a server that never answers) to simulate outages.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedis, waitForRedis } from '../../src/stores/redis/connection.js';

export const REDIS_TEST_URL = process.env.IBEX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `ibex-test:<task>:<random>:` so concurrent runs (and other engineers' tests) never share keys. */
export function uniquePrefix(task: string): string {
  return `ibex-test:${task}:${randomBytes(6).toString('hex')}:`;
}

/** One PING over a plain socket: no client library retries, bounded by `timeoutMs`. */
export function probeRedis(url = REDIS_TEST_URL, timeoutMs = 1000): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const done = (problem: string | null): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('error', (err) => done(err.message));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (buf) => done(buf.toString().startsWith('+PONG') ? null : `unexpected reply ${JSON.stringify(buf.toString())}`));
  });
}

const unreachable = await probeRedis();

/**
 * `describe` that runs only when Redis answers. Without Redis: with CI=true the suite FAILS
 * (a missing service must not pass silently in CI); otherwise it is skipped with the reason.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (unreachable === null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Redis', () => {
        throw new Error(`Redis not reachable at ${REDIS_TEST_URL} (${unreachable}); CI=true requires it`);
      });
    });
  } else {
    console.warn(`[tests] skipping "${name}": Redis not reachable at ${REDIS_TEST_URL} (${unreachable}); set CI=true to make this fail`);
    describe.skip(`${name} [SKIPPED: Redis not reachable at ${REDIS_TEST_URL}: ${unreachable}; set CI=true to make this fail]`, body);
  }
}

/** Deletes every key under `prefix` (tests' leftovers; keys also expire on their own). */
export async function deleteKeys(prefix: string, url = REDIS_TEST_URL): Promise<void> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** Polls `check` until it is truthy or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A TCP proxy to Redis that a test can cut (`down()`: drops every connection and refuses new
 * ones) and restore (`up()`: listens again on the same port), to simulate an outage.
 */
export class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target = new URL(REDIS_TEST_URL)) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: this.target.hostname, port: Number(this.target.port || 6379) });
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * A server that completes the ioredis handshake (answers INFO as a ready Redis) and then never
 * answers anything again: a Redis that is up but too slow.
 */
export async function stalledRedis(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    // Replies go to commands in order, so every handshake command (CLIENT SETINFO …) gets +OK
    // and INFO gets a "ready" answer; everything after INFO is left unanswered.
    let stalled = false;
    socket.on('data', (chunk) => {
      for (const command of chunk.toString().split(/\*\d+\r\n/).filter(Boolean)) {
        if (stalled) return;
        if (/\binfo\b/i.test(command)) {
          stalled = true;
          const info = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';
          socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        } else {
          socket.write('+OK\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A ready client as ibex makes them (its fail-fast options), added to `clients` for the test's
 * cleanup; its error events are swallowed (tests cut connections on purpose).
 */
export async function connectTestRedis(clients: Redis[], url = REDIS_TEST_URL, opts: Parameters<typeof createRedis>[1] = {}): Promise<Redis> {
  const client = createRedis(url, opts);
  client.on('error', () => {});
  clients.push(client);
  await waitForRedis(client, 2000);
  return client;
}
