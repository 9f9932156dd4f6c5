// The tail client against a real fastify server: traces flow, a refused token ends it, and it
// reconnects by itself when the gateway goes away and comes back on the same port.
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { registerAdminRoutes } from '../../src/server/routes/admin.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import { UserError } from '../../src/errors.js';
import { eventsUrl, nextBackoff, tailTraces, type ConnectionStatus } from '../../src/tail/client.js';
import type { Trace } from '../../src/stores/ports.js';

const TOKEN = 'client-test-token';

function makeTrace(requestId: string, agent = 'alpha'): Trace {
  return {
    requestId, sessionId: 's', agent, patId: 'p', model: 'm', provider: 'openai', stream: true, status: 200,
    errorCode: null, startedAt: Date.now(), totalMs: 3, upstreamTtfbMs: 2, upstreamMs: 2, overheadMs: 0.5, stages: {},
    promptTokens: null, completionTokens: null, totalTokens: null, bytesIn: 1, bytesOut: 1, directiveVersion: null,
    clientRequestId: null, cachedTokens: null, reasoningTokens: null, costUsd: null,
  };
}

/** MemoryBus that counts its active 'trace' subscribers (one per connected tail client). */
class CountingBus extends MemoryBus {
  traceSubscribers = 0;
  override subscribe(topic: Parameters<MemoryBus['subscribe']>[0], handler: (m: unknown) => void) {
    const off = super.subscribe(topic, handler);
    if (topic !== 'trace') return off;
    this.traceSubscribers++;
    let done = false;
    return () => {
      if (!done) this.traceSubscribers--;
      done = true;
      off();
    };
  }
}

async function startGateway(port = 0) {
  const bus = new CountingBus();
  const app = Fastify();
  registerAdminRoutes(app, { bus, adminToken: TOKEN });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { app, bus, port: address.port, base: `http://127.0.0.1:${address.port}` };
}

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Runs tailTraces in the background, collecting traces and statuses. */
function runClient(base: string, extra: { agent?: string } = {}) {
  const ac = new AbortController();
  const dispatcher = new Agent();
  const traces: Trace[] = [];
  const statuses: ConnectionStatus[] = [];
  const done = (async () => {
    for await (const t of tailTraces({
      url: base, token: TOKEN, signal: ac.signal, dispatcher, minBackoffMs: 20, maxBackoffMs: 100,
      onStatus: (s) => statuses.push(s), ...extra,
    })) traces.push(t);
  })();
  cleanups.push(async () => {
    ac.abort();
    await done.catch(() => {});
    await dispatcher.destroy();
  });
  return { traces, statuses, done, stop: () => ac.abort() };
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Publishes `trace` every 25 ms until the client has it (the client may still be connecting). */
async function publishUntilSeen(bus: MemoryBus, client: { traces: Trace[] }, id: string) {
  const until = Date.now() + 5000;
  while (!client.traces.some((t) => t.requestId === id)) {
    if (Date.now() > until) throw new Error(`trace ${id} never arrived`);
    await bus.publish('trace', makeTrace(id));
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('tailTraces', () => {
  it('yields traces and reports connecting → connected', async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.app.close());
    const client = runClient(gw.base);
    await publishUntilSeen(gw.bus, client, 't-1');
    expect(client.traces[0]).toMatchObject({ requestId: 't-1', agent: 'alpha', stream: true });
    expect(client.statuses.slice(0, 2).map((s) => s.state)).toEqual(['connecting', 'connected']);
  });

  it('passes the agent filter to the server', async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.app.close());
    const client = runClient(gw.base, { agent: 'beta' });
    await waitFor(() => client.statuses.some((s) => s.state === 'connected'));
    await waitFor(() => gw.bus.traceSubscribers === 1);
    await gw.bus.publish('trace', makeTrace('a-1', 'alpha'));
    await gw.bus.publish('trace', makeTrace('b-1', 'beta'));
    await waitFor(() => client.traces.length > 0);
    expect(client.traces.map((t) => t.requestId)).toEqual(['b-1']);
  });

  it('throws a UserError when the token is refused, without retrying', async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.app.close());
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.destroy());
    const statuses: string[] = [];
    const run = async () => {
      for await (const _ of tailTraces({ url: gw.base, token: 'wrong', dispatcher, onStatus: (s) => statuses.push(s.state) })) {
        // no traces expected
      }
    };
    await expect(run()).rejects.toBeInstanceOf(UserError);
    expect(statuses).toEqual(['connecting']);
  });

  it('reconnects when the gateway restarts on the same port', async () => {
    const first = await startGateway();
    const client = runClient(first.base);
    await publishUntilSeen(first.bus, client, 'before');

    await first.app.close();
    await waitFor(() => client.statuses.some((s) => s.state === 'disconnected'));

    const second = await startGateway(first.port);
    cleanups.push(() => second.app.close());
    await publishUntilSeen(second.bus, client, 'after');

    const states = client.statuses.map((s) => s.state);
    const lastDisconnect = states.lastIndexOf('disconnected');
    expect(states.indexOf('connected')).toBeLessThan(lastDisconnect);
    expect(states.slice(lastDisconnect)).toContain('connected');
    const disconnected = client.statuses.filter((s) => s.state === 'disconnected');
    expect(disconnected[0]!.reason).toBeTruthy();
    expect(disconnected.every((s) => typeof s.retryInMs === 'number' && s.retryInMs <= 100)).toBe(true);
  });

  it('stops quietly when aborted', async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.app.close());
    const client = runClient(gw.base);
    await waitFor(() => client.statuses.some((s) => s.state === 'connected'));
    client.stop();
    await expect(client.done).resolves.toBeUndefined();
    await waitFor(() => gw.bus.traceSubscribers === 0);
  });
});

describe('client helpers', () => {
  it('builds the events URL with an optional agent', () => {
    expect(eventsUrl('http://h:1')).toBe('http://h:1/admin/v1/events');
    expect(eventsUrl('http://h:1/', 'a b')).toBe('http://h:1/admin/v1/events?agent=a+b');
    expect(eventsUrl('http://h:1/prefix')).toBe('http://h:1/prefix/admin/v1/events');
  });

  it('doubles the backoff between bounds', () => {
    expect(nextBackoff(250, 250, 5000)).toBe(500);
    expect(nextBackoff(4000, 250, 5000)).toBe(5000);
    expect(nextBackoff(0, 250, 5000)).toBe(250);
  });
});
