// One place that decides how ibex talks to Redis, so every adapter fails the same way.
//
// Redis sits on the request path (rate limits, directive cache), so a Redis outage must never
// stall a request: commands fail fast instead of queueing while disconnected, every command has
// a short timeout, and ioredis keeps reconnecting in the background so service resumes by itself.
import { Redis, type RedisOptions } from 'ioredis';
import type { ReadinessCheck } from '../ports.js';

/** Key prefix used when none is given. ioredis' own `keyPrefix` is not used: adapters build keys themselves. */
export const DEFAULT_REDIS_PREFIX = 'ibex:';

export interface RedisConnectionOptions {
  /** Per-command timeout in ms; a slower Redis counts as down. Default 100. */
  commandTimeoutMs?: number;
  /** TCP connect timeout in ms. Default 1000. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnect attempts in ms. Default 2000. */
  maxReconnectDelayMs?: number;
  /** Shown in `CLIENT LIST`, helps operators see which process holds a connection. */
  connectionName?: string;
}

export function redisOptions(opts: RedisConnectionOptions = {}): RedisOptions {
  const maxDelay = opts.maxReconnectDelayMs ?? 2000;
  return {
    lazyConnect: false,
    // Fail fast while disconnected: a queued INCR would be answered long after the request
    // that needed it has moved on (and, if resent, counted twice).
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // 0: commands in flight when the connection drops are rejected at once, not kept for a retry.
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 100,
    connectTimeout: opts.connectTimeoutMs ?? 1000,
    // Never give up reconnecting: Redis coming back must bring shared limits back without a restart.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    // Re-subscribes pub/sub channels after a reconnect (RedisBus also re-subscribes on 'ready').
    autoResubscribe: true,
    connectionName: opts.connectionName,
  };
}

/**
 * Opens a client for `url` (redis:// or rediss://). It starts connecting immediately; use
 * `waitForRedis` before relying on it, because commands issued before it is ready fail at once.
 */
export function createRedis(url: string, opts: RedisConnectionOptions = {}): Redis {
  return new Redis(url, redisOptions(opts));
}

/** Resolves when `client` is ready; rejects with the last connection error after `timeoutMs`. */
export function waitForRedis(client: Redis, timeoutMs = 3000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      lastError = err;
    };
    const onEnd = (): void => {
      cleanup();
      reject(lastError ?? new Error('redis connection closed'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(lastError ?? new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    }
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}

/** PING with a short timeout, for /readyz. Never throws. */
export async function redisReady(client: Redis, name = 'redis', timeoutMs = 500): Promise<ReadinessCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PING reply within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([client.ping(), timeout]);
    return { name, ok: true, detail: `ping ${(performance.now() - started).toFixed(1)} ms` };
  } catch (err) {
    return { name, ok: false, detail: `${(err as Error).message} (status ${client.status})` };
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client politely (QUIT), falling back to a hard disconnect when Redis is unreachable. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
