import { afterEach, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/stores/redis/bus.js';
import { closeRedis, createRedis, waitForRedis } from '../../src/stores/redis/connection.js';
import { busContract } from '../contracts/bus.js';
import { CuttableProxy, describeWithRedis, uniquePrefix, waitFor, connectTestRedis } from '../helpers/redis.js';

const clients: Redis[] = [];
const buses: RedisBus[] = [];

const connect = (url?: string, opts?: Parameters<typeof createRedis>[1]): Promise<Redis> => connectTestRedis(clients, url, opts);

async function openBus(prefix: string, client?: Redis, errors: string[] = [], opts: { listenerPollMs?: number } = {}): Promise<RedisBus> {
  const bus = new RedisBus(client ?? (await connect()), { prefix, onError: (err, ctx) => errors.push(`${ctx}: ${err.message}`), ...opts });
  buses.push(bus);
  await waitForRedis(bus.subscriber, 2000);
  return bus;
}

async function cleanup(): Promise<void> {
  for (const b of buses.splice(0)) await b.close();
  for (const c of clients.splice(0)) await closeRedis(c);
}

describeWithRedis('RedisBus', () => {
  afterEach(cleanup);

  // Each bus gets its own prefix, so the contract's tests cannot hear each other.
  busContract('redis', async () => ({ bus: await openBus(uniquePrefix('bus')) }));

  it('publishes live traces only while some process listens (PUBSUB NUMSUB, polled); other topics always', async () => {
    const prefix = uniquePrefix('bus');
    const publisherClient = await connect();
    const sent: string[] = [];
    const publish = publisherClient.publish.bind(publisherClient);
    publisherClient.publish = ((channel: string, message: string) => {
      sent.push(channel.slice(prefix.length));
      return publish(channel, message);
    }) as typeof publisherClient.publish;
    const a = await openBus(prefix, publisherClient, [], { listenerPollMs: 50 });
    const b = await openBus(prefix, undefined, [], { listenerPollMs: 50 });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) await a.publish('trace', { i });
    await a.publish('revocation', { kind: 'pat', subject: 'x' });
    expect(sent).toEqual(['bus:revocation']);
    // Someone listens on another process: within a poll, the traces go out again and arrive.
    const got: unknown[] = [];
    b.subscribe('trace', (m) => got.push(m));
    await b.settled();
    const deadline = Date.now() + 3000;
    while (got.length === 0 && Date.now() < deadline) {
      await a.publish('trace', { n: 'after' });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(got[0]).toEqual({ n: 'after' });
    expect(sent).toContain('bus:trace');
  });

  it('uses channel `${prefix}bus:${topic}` with JSON messages', async () => {
    const prefix = uniquePrefix('bus');
    const bus = await openBus(prefix);
    const got: unknown[] = [];
    bus.subscribe('revocation', (m) => got.push(m));
    await bus.settled();
    const raw = await connect();
    expect(await raw.publish(`${prefix}bus:revocation`, JSON.stringify({ kind: 'pat', subject: 'h' }))).toBe(1);
    await waitFor(() => got.length === 1, 'a message published by hand');
    expect(got).toEqual([{ kind: 'pat', subject: 'h' }]);
  });

  it('lets two processes (two buses) see each other, each subscriber once', async () => {
    const prefix = uniquePrefix('bus');
    const a = await openBus(prefix);
    const b = await openBus(prefix);
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    a.subscribe('directive', (m) => gotA.push(m));
    b.subscribe('directive', (m) => gotB.push(m));
    await Promise.all([a.settled(), b.settled()]);
    await a.publish('directive', { from: 'a' });
    await b.publish('directive', { from: 'b' });
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 'both messages on both buses');
    await new Promise((r) => setTimeout(r, 50));
    expect(gotA).toEqual([{ from: 'a' }, { from: 'b' }]);
    expect(gotB).toEqual([{ from: 'a' }, { from: 'b' }]);
  });

  it('unsubscribes the channel in Redis when the last local handler goes', async () => {
    const prefix = uniquePrefix('bus');
    const bus = await openBus(prefix);
    const raw = await connect();
    const channel = `${prefix}bus:trace`;
    const numsub = async (): Promise<number> => Number(((await raw.pubsub('NUMSUB', channel)) as [string, number])[1]);
    const off1 = bus.subscribe('trace', () => {});
    const off2 = bus.subscribe('trace', () => {});
    await bus.settled();
    expect(await numsub()).toBe(1); // one Redis subscription however many local handlers
    off1();
    await bus.settled();
    expect(await numsub()).toBe(1);
    off2();
    await bus.settled();
    expect(await numsub()).toBe(0);
    expect(bus.activeTopics()).toEqual([]);
  });

  it('reports undecodable messages and handler errors to onError without crashing', async () => {
    const prefix = uniquePrefix('bus');
    const errors: string[] = [];
    const bus = await openBus(prefix, undefined, errors);
    const got: unknown[] = [];
    bus.subscribe('trace', (m) => {
      if (m === 'throw') throw new Error('handler bug');
      got.push(m);
    });
    await bus.settled();
    const raw = await connect();
    await raw.publish(`${prefix}bus:trace`, '{not json');
    await bus.publish('trace', 'throw');
    await bus.publish('trace', 'ok');
    await waitFor(() => got.length === 1, 'the good message');
    expect(got).toEqual(['ok']);
    expect(errors.some((e) => e.startsWith(`undecodable message on ${prefix}bus:trace`))).toBe(true);
    expect(errors).toContain('handler for "trace": handler bug');
  });

  it('rejects publish quickly during an outage, then resubscribes and delivers after reconnect', async () => {
    const prefix = uniquePrefix('bus');
    const proxy = new CuttableProxy();
    await proxy.up();
    try {
      const client = await connect(proxy.url, { maxReconnectDelayMs: 100 });
      const bus = await openBus(prefix, client);
      const got: unknown[] = [];
      bus.subscribe('revocation', (m) => got.push(m));
      await bus.publish('revocation', 'before');
      await waitFor(() => got.length === 1, 'delivery before the outage');

      await proxy.down();
      await waitFor(() => client.status !== 'ready' && bus.subscriber.status !== 'ready', 'both connections to notice');
      // a subscription made during the outage must also be in place after it
      const late: unknown[] = [];
      bus.subscribe('pat-created', (m) => late.push(m));
      const started = performance.now();
      await expect(bus.publish('revocation', 'during')).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(200);

      await proxy.up();
      await waitFor(() => client.status === 'ready' && bus.subscriber.status === 'ready', 'reconnection', 5000);
      await bus.settled();
      // published by someone else, straight to Redis: proves the subscriber connection resubscribed
      const direct = await connect();
      await waitFor(() => bus.activeTopics().length === 2, 'resubscription', 3000);
      await direct.publish(`${prefix}bus:revocation`, JSON.stringify('after'));
      await direct.publish(`${prefix}bus:pat-created`, JSON.stringify('late'));
      await waitFor(() => got.length === 2 && late.length === 1, 'delivery after reconnect', 3000);
      expect(got).toEqual(['before', 'after']);
      expect(late).toEqual(['late']);
    } finally {
      await cleanup();
      await proxy.down();
    }
  });
});
