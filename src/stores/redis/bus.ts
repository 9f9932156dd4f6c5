// Pub/sub between every process connected to the same Redis (revocations, directive changes,
// new PATs, live traces).
//
// Publishing uses the shared command connection; receiving needs a dedicated connection because a
// Redis connection in subscriber mode cannot run other commands. Channels are `${prefix}bus:${topic}`,
// messages are JSON.
//
// Self-delivery goes THROUGH REDIS: a process receives its own messages back on its subscriber
// connection like everyone else's, and never delivers locally as well, so each subscriber gets a
// message exactly once. (Consequence: when Redis is down, a process does not even see its own
// messages; callers have a polling backstop for that.)
//
// Outages: publish rejects at once (no offline queue) and the caller decides; subscriptions are
// kept locally and re-established on every reconnect, so handlers survive a Redis restart.
// Messages published while a subscriber is disconnected are lost (Redis pub/sub is fire-and-forget).
//
// Live traces (`trace`) are one message per request, and most of the time nobody listens (no `ibex
// tail`, no dashboard open): those topics are published only while some process has a subscriber,
// which each process learns by asking Redis (PUBSUB NUMSUB) once a second instead of paying a PUBLISH
// per request. A listener that just connected to another replica misses at most that second.
import type { Redis } from 'ioredis';
import type { Bus, BusTopic } from '../ports.js';
import { Fanout, type BusHandler } from '../memory/fanout.js';
import { DEFAULT_REDIS_PREFIX } from './connection.js';

export interface RedisBusOptions {
  /** Key prefix isolating this deployment (or test run). Default `ibex:`. */
  prefix?: string;
  /** Connection problems, undecodable messages and throwing handlers. Never thrown. */
  onError?: (err: Error, context: string) => void;
  /** Timeout of SUBSCRIBE/UNSUBSCRIBE on the subscriber connection, ms. Default 2 000. */
  subscribeTimeoutMs?: number;
  /** Pause before retrying a failed SUBSCRIBE while connected, ms. Default 1 000. */
  retryDelayMs?: number;
  /** Topics published only while someone subscribes to them (anywhere). Default: `trace`. */
  whenListenedTopics?: readonly BusTopic[];
  /** How often those topics' subscriber counts are asked of Redis, ms. Default 1 000. */
  listenerPollMs?: number;
}

export class RedisBus implements Bus {
  /** The dedicated subscriber connection (owned: closed by `close()`). */
  readonly subscriber: Redis;
  private readonly publisher: Redis;
  private readonly channelPrefix: string;
  private readonly onError: (err: Error, context: string) => void;
  private readonly retryDelayMs: number;
  private readonly fanout: Fanout;
  /** Topics whose channel Redis has confirmed subscribed on the current connection. */
  private active = new Set<BusTopic>();
  /** Serialises SUBSCRIBE/UNSUBSCRIBE so they cannot overtake each other; never rejects. */
  private syncing: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Topics published only while listened to → whether Redis last said someone listens (unknown: yes). */
  private readonly listened = new Map<BusTopic, boolean>();
  private listenerTimer: NodeJS.Timeout | undefined;

  /** `client` is the shared command connection used to publish; it is not closed by `close()`. */
  constructor(client: Redis, opts: RedisBusOptions = {}) {
    this.publisher = client;
    this.channelPrefix = `${opts.prefix ?? DEFAULT_REDIS_PREFIX}bus:`;
    this.onError = opts.onError ?? (() => {});
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.fanout = new Fanout((err, topic) => this.report(err, `handler for "${topic}"`));
    const name = client.options.connectionName;
    this.subscriber = client.duplicate({
      commandTimeout: opts.subscribeTimeoutMs ?? 2000,
      connectionName: name ? `${name}-bus` : undefined,
    });
    this.subscriber.on('message', (channel: string, raw: string) => this.receive(channel, raw));
    // Every (re)connection starts without subscriptions as far as we can prove; ioredis'
    // autoResubscribe restores them too, and a duplicate SUBSCRIBE is harmless.
    this.subscriber.on('ready', () => {
      this.active = new Set();
      void this.sync();
    });
    this.subscriber.on('error', (err: Error) => this.report(err, 'subscriber connection'));
    for (const t of opts.whenListenedTopics ?? ['trace']) this.listened.set(t, true);
    if (this.listened.size > 0) {
      this.listenerTimer = setInterval(() => void this.pollListeners(), opts.listenerPollMs ?? 1000);
      this.listenerTimer.unref();
      void this.pollListeners();
    }
  }

  /**
   * Resolves once Redis accepted the message (delivery to subscribers, this process's included,
   * follows asynchronously). Rejects quickly when Redis is unreachable or the message is not JSON.
   */
  async publish(topic: BusTopic, message: unknown): Promise<void> {
    // Nobody listens: not even serialised (as MemoryBus with no subscriber).
    if (this.listened.get(topic) === false && this.fanout.count(topic) === 0) return;
    const wire = JSON.stringify(message);
    if (wire === undefined) throw new TypeError(`bus message for "${topic}" is not JSON-serialisable`);
    // Subscriptions made before this publish must be in place in Redis, or our own handlers miss it.
    await this.syncing;
    await this.publisher.publish(this.channelPrefix + topic, wire);
  }

  subscribe(topic: BusTopic, handler: BusHandler): () => void {
    const first = this.fanout.count(topic) === 0;
    const unsubscribe = this.fanout.add(topic, handler, () => void this.sync());
    if (first) void this.sync();
    return unsubscribe;
  }

  /** Resolves when pending SUBSCRIBE/UNSUBSCRIBE commands have been answered (or failed). */
  settled(): Promise<void> {
    return this.syncing;
  }

  /** Topics currently subscribed in Redis (for tests and diagnostics). */
  activeTopics(): BusTopic[] {
    return [...this.active];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.listenerTimer);
    this.fanout.clear();
    await this.syncing;
    if (this.subscriber.status === 'ready') {
      try {
        await this.subscriber.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.subscriber.disconnect();
  }

  private receive(channel: string, raw: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    const topic = channel.slice(this.channelPrefix.length) as BusTopic;
    if (this.fanout.count(topic) === 0) return;
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch (err) {
      this.report(err as Error, `undecodable message on ${channel}`);
      return;
    }
    this.fanout.emit(topic, message);
  }

  /** Brings Redis subscriptions in line with the local handlers. */
  private sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.syncOnce())
      .catch((err: unknown) => {
        this.report(err instanceof Error ? err : new Error(String(err)), 'subscribe');
        this.scheduleRetry();
      });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    // Not connected: nothing to do now, the 'ready' handler syncs on (re)connection.
    if (this.closed || this.subscriber.status !== 'ready') return;
    const wanted = new Set(this.fanout.topics());
    const add = [...wanted].filter((t) => !this.active.has(t));
    const remove = [...this.active].filter((t) => !wanted.has(t));
    if (add.length > 0) {
      await this.subscriber.subscribe(...add.map((t) => this.channelPrefix + t));
      for (const t of add) this.active.add(t);
    }
    if (remove.length > 0) {
      await this.subscriber.unsubscribe(...remove.map((t) => this.channelPrefix + t));
      for (const t of remove) this.active.delete(t);
    }
  }

  /** Asks Redis how many connections subscribe to each listened-only topic. Unknown (error): publish. */
  private async pollListeners(): Promise<void> {
    if (this.closed) return;
    const topics = [...this.listened.keys()];
    try {
      const counts = (await this.publisher.pubsub('NUMSUB', ...topics.map((t) => this.channelPrefix + t))) as (string | number)[];
      topics.forEach((t, i) => this.listened.set(t, Number(counts[2 * i + 1]) > 0));
    } catch {
      for (const t of topics) this.listened.set(t, true);
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.sync();
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private report(err: Error, context: string): void {
    try {
      this.onError(err, context);
    } catch {
      // the error hook itself must never break delivery
    }
  }
}
