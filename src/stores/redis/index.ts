// Opens everything ibex keeps in Redis over one command connection (rate limits, directive cache,
// bus publishing) plus the bus's subscriber connection.
import type { Redis } from 'ioredis';
import { redactUrl } from '../../config.js';
import { UserError } from '../../errors.js';
import type { ReadinessCheck } from '../ports.js';
import { RedisBus } from './bus.js';
import { closeRedis, createRedis, redisReady, waitForRedis, DEFAULT_REDIS_PREFIX } from './connection.js';
import { RedisDirectiveCache } from './directive-cache.js';
import { RedisRateLimiter } from './rate-limiter.js';
import { RedisBudgetStore } from './budget-store.js';
import { RedisRecentResponseLinks } from './recent-response-links.js';

export { RedisBus, type RedisBusOptions } from './bus.js';
export { RedisDirectiveCache, type RedisDirectiveCacheOptions } from './directive-cache.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './rate-limiter.js';
export { RedisBudgetStore, type RedisBudgetStoreOptions } from './budget-store.js';
export { RedisRecentResponseLinks, RECENT_LINK_TTL_MS, type RedisRecentResponseLinksOptions } from './recent-response-links.js';
export { createRedis, redisReady, waitForRedis, closeRedis, DEFAULT_REDIS_PREFIX } from './connection.js';

export interface RedisBackendsOptions {
  /** Key/channel prefix. Default `ibex:`. */
  prefix?: string;
  /** Called on every rate-limit hit answered "allowed" because Redis could not be asked. */
  onFailOpen?: (e: Error) => void;
  /** One line per connection state change (lost / back), never per command. */
  log?: (line: string) => void;
  /** How long to wait for the first connection before giving up, ms. Default 3 000. */
  connectTimeoutMs?: number;
  /** Per-command timeout, ms. Default 100. */
  commandTimeoutMs?: number;
}

export interface RedisBackends {
  rateLimiter: RedisRateLimiter;
  /** Throws when Redis cannot answer: the factory wraps it with the configured outage mode */
  budgets: RedisBudgetStore;
  bus: RedisBus;
  directiveCache: RedisDirectiveCache;
  /** Responses links of the turns just served, for the other replicas before the checkpoints land */
  recentResponseLinks: RedisRecentResponseLinks;
  ready(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
  describe(): string[];
}

/**
 * Connects to `url` and returns the Redis adapters. Rejects with a UserError when Redis cannot be
 * reached at start (a wrong IBEX_REDIS_URL should stop `ibex serve`, not silently run without
 * shared limits); after that, outages are survived: rate limits fail open, the cache misses,
 * publishes reject, and everything resumes when the connection returns.
 */
export async function openRedisBackends(url: string, opts: RedisBackendsOptions = {}): Promise<RedisBackends> {
  const shownUrl = redactUrl(url);
  const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
  const log = opts.log ?? (() => {});
  const client = createRedis(url, { commandTimeoutMs: opts.commandTimeoutMs, connectionName: 'ibex' });
  watchConnection(client, `redis ${shownUrl}`, log);
  try {
    await waitForRedis(client, opts.connectTimeoutMs ?? 3000);
  } catch (err) {
    client.disconnect();
    throw new UserError(
      `cannot reach Redis at ${shownUrl}: ${(err as Error).message}`,
      'start Redis or fix IBEX_REDIS_URL; unset it to use in-process rate limits and bus',
    );
  }

  const rateLimiter = new RedisRateLimiter(client, { prefix, onFailOpen: opts.onFailOpen });
  const directiveCache = new RedisDirectiveCache(client, { prefix });
  const budgets = new RedisBudgetStore(client, { prefix });
  const linkLog = newLinesOnly(log);
  const recentResponseLinks = new RedisRecentResponseLinks(client, {
    prefix,
    // Connection loss is logged by watchConnection; a link not shared is recorded by its checkpoint anyway.
    onError: (err) => linkLog(`response links: not shared through Redis (${err.message}); other replicas read them from the session store once written`),
  });
  const busLog = newLinesOnly(log);
  const bus = new RedisBus(client, {
    prefix,
    // Connection errors are logged by watchConnection; here only what it cannot see, deduplicated.
    onError: (err, context) => {
      if (context !== 'subscriber connection') busLog(`bus: ${context}: ${err.message}`);
    },
  });
  watchConnection(bus.subscriber, `redis subscriber ${shownUrl}`, () => {});
  try {
    // Otherwise a subscribe-then-publish right after start could miss its own message.
    await waitForRedis(bus.subscriber, opts.connectTimeoutMs ?? 3000);
  } catch (err) {
    await bus.close();
    client.disconnect();
    throw new UserError(`cannot open the Redis bus connection to ${shownUrl}: ${(err as Error).message}`, 'check that Redis accepts another connection (maxclients)');
  }

  return {
    rateLimiter,
    budgets,
    bus,
    directiveCache,
    recentResponseLinks,
    async ready() {
      return Promise.all([redisReady(client, 'redis'), redisReady(bus.subscriber, 'redis-subscriber')]);
    },
    async close() {
      await bus.close();
      await closeRedis(client);
    },
    describe() {
      return [`rate limits: redis ${shownUrl}`, `budgets: redis ${shownUrl}`, `directive cache: redis ${shownUrl}`, `bus: redis ${shownUrl}`, `response links: redis ${shownUrl} (turns just served)`];
    },
  };
}

/** `log` that skips a line equal to the one before (one per run of the same failure, not one per command). */
function newLinesOnly(log: (line: string) => void): (line: string) => void {
  let last = '';
  return (line) => {
    if (line !== last) log(line);
    last = line;
  };
}

/** Logs "lost" once per outage and "back" once when it ends, instead of one line per retry. */
function watchConnection(client: Redis, label: string, log: (line: string) => void): void {
  let wasReady = false;
  let down = false;
  client.on('ready', () => {
    if (down) log(`${label}: connection restored`);
    wasReady = true;
    down = false;
  });
  // Also the listener that keeps ioredis from printing "Unhandled error event" on every retry.
  client.on('error', (err: Error) => {
    if (wasReady && !down) log(`${label}: connection lost (${err.message}); rate limits fail open until it returns`);
    if (wasReady) down = true;
  });
  client.on('close', () => {
    if (wasReady && !down && client.status !== 'end') {
      down = true;
      log(`${label}: connection lost; rate limits fail open until it returns`);
    }
  });
}
