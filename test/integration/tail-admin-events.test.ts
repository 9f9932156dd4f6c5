// GET /admin/v1/events against a real fastify server on an ephemeral port.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { registerAdminRoutes } from '../../src/server/routes/admin.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import type { Bus, BusTopic, Trace } from '../../src/stores/ports.js';

const TOKEN = 'test-admin-token-123';

function makeTrace(over: Partial<Trace> = {}): Trace {
  return {
    requestId: 'req-1', sessionId: 'sess-1', agent: 'alpha', patId: 'pat-1', model: 'gpt-test', provider: 'openai',
    stream: false, status: 200, errorCode: null, startedAt: Date.now(), totalMs: 12, upstreamTtfbMs: 10,
    upstreamMs: 11, overheadMs: 0.4, stages: { auth: 0.1 }, promptTokens: 5, completionTokens: 7, totalTokens: 12,
    bytesIn: 100, bytesOut: 200, directiveVersion: 1,
    clientRequestId: null, cachedTokens: null, reasoningTokens: null, costUsd: null, ...over,
  };
}

/** MemoryBus that also reports how many 'trace' subscribers are active. */
class CountingBus implements Bus {
  readonly inner = new MemoryBus();
  active = 0;
  publish(topic: BusTopic, message: unknown) {
    return this.inner.publish(topic, message);
  }
  subscribe(topic: BusTopic, handler: (m: unknown) => void) {
    const off = this.inner.subscribe(topic, handler);
    this.active++;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.active--;
      }
      off();
    };
  }
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(opts: { heartbeatMs?: number; maxQueuedEvents?: number } = {}) {
  const bus = new CountingBus();
  app = Fastify();
  registerAdminRoutes(app, { bus, adminToken: TOKEN, ...opts });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { bus, base: address };
}

/**
 * Opens the stream and collects its text. Each stream gets its own undici Agent, destroyed on
 * close: the shared global pool opens a spare socket after an abort, which would hold app.close().
 */
async function openStream(url: string, token = TOKEN) {
  const ac = new AbortController();
  const dispatcher = new Agent();
  const res = await request(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal, dispatcher });
  let text = '';
  let ended = false;
  res.body.setEncoding('utf8');
  res.body.on('data', (c: string) => (text += c));
  res.body.on('end', () => (ended = true));
  res.body.on('error', () => (ended = true));
  return { res, get text() { return text; }, get ended() { return ended; }, close: () => {
    ac.abort();
    void dispatcher.destroy();
  } };
}

describe('GET /admin/v1/events', () => {
  it('rejects a missing or wrong admin token with an OpenAI-shaped 401', async () => {
    const { base, bus } = await start();
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: TOKEN }, { authorization: `Bearer ${TOKEN}x` }]) {
      const res = await request(`${base}/admin/v1/events`, { headers });
      expect(res.statusCode).toBe(401);
      const body = (await res.body.json()) as { error: { code: string; type: string; param: unknown; message: string } };
      expect(body.error.code).toBe('invalid_admin_token');
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error).toHaveProperty('param', null);
    }
    expect(bus.active).toBe(0);
  });

  it('refuses to register with an empty token', () => {
    expect(() => registerAdminRoutes(Fastify(), { bus: new MemoryBus(), adminToken: '' })).toThrow(/adminToken/);
  });

  it('streams each trace on the bus as an SSE event', async () => {
    const { base, bus } = await start();
    const s = await openStream(`${base}/admin/v1/events`);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await waitFor(() => bus.active === 1);
    await bus.publish('trace', makeTrace({ requestId: 'r-1' }));
    await bus.publish('revocation', { kind: 'pat' }); // other topics never reach the stream
    await bus.publish('trace', makeTrace({ requestId: 'r-2', status: 502 }));
    await waitFor(() => s.text.includes('r-2'));
    const events = s.text.split('\n\n').filter((b) => b.startsWith('event: trace'));
    expect(events).toHaveLength(2);
    const first = JSON.parse(events[0]!.split('\ndata: ')[1]!) as Trace;
    expect(first).toEqual(makeTrace({ requestId: 'r-1', startedAt: first.startedAt }));
    expect(s.text).not.toContain('revocation');
    s.close();
  });

  it('filters by ?agent=', async () => {
    const { base, bus } = await start();
    const s = await openStream(`${base}/admin/v1/events?agent=beta`);
    await waitFor(() => bus.active === 1);
    await bus.publish('trace', makeTrace({ requestId: 'b-1', agent: 'beta' }));
    await bus.publish('trace', makeTrace({ requestId: 'a-1', agent: 'alpha' }));
    await bus.publish('trace', makeTrace({ requestId: 'b-2', agent: 'beta' }));
    await waitFor(() => s.text.includes('b-2'));
    expect(s.text).toContain('b-1');
    expect(s.text).not.toContain('a-1');
    s.close();
  });

  it('unsubscribes from the bus when the client disconnects', async () => {
    const { base, bus } = await start();
    const a = await openStream(`${base}/admin/v1/events`);
    const b = await openStream(`${base}/admin/v1/events`);
    await waitFor(() => bus.active === 2);
    a.close();
    await waitFor(() => bus.active === 1);
    b.close();
    await waitFor(() => bus.active === 0);
  });

  it('sends a comment heartbeat', async () => {
    const { base } = await start({ heartbeatMs: 30 });
    const s = await openStream(`${base}/admin/v1/events`);
    await waitFor(() => s.text.includes(': ping\n\n'));
    s.close();
  });

  it('ends open streams when the app closes instead of blocking close()', async () => {
    const { base, bus } = await start();
    const s = await openStream(`${base}/admin/v1/events`);
    await waitFor(() => bus.active === 1);
    const t0 = Date.now();
    await app!.close();
    app = undefined;
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(() => s.ended);
    expect(bus.active).toBe(0);
  });

  it('drops events for a client that does not read and tells it how many', async () => {
    const { base, bus } = await start({ maxQueuedEvents: 4 });
    const url = new URL(`${base}/admin/v1/events`);
    // A raw http client we can stop reading from.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${TOKEN}` } }, resolve).on('error', reject);
    });
    res.setEncoding('utf8');
    res.pause();
    await waitFor(() => bus.active === 1);

    const total = 300;
    const padding = 'x'.repeat(64 * 1024); // 300 × 64 KiB ≈ 19 MiB: more than the socket buffers hold
    for (let i = 0; i < total; i++) {
      await bus.publish('trace', makeTrace({ requestId: `slow-${i}`, model: padding }));
    }

    let text = '';
    res.on('data', (c: string) => (text += c));
    res.resume();
    const tally = () => {
      const blocks = text.split('\n\n');
      const traces = blocks.filter((b) => b.startsWith('event: trace')).length;
      const dropped = blocks
        .filter((b) => b.startsWith('event: dropped'))
        .reduce((n, b) => n + (JSON.parse(b.split('\ndata: ')[1]!) as { count: number }).count, 0);
      return { traces, dropped };
    };
    await waitFor(() => {
      const t = tally();
      return t.traces + t.dropped === total;
    }, 10_000);
    const { traces, dropped } = tally();
    expect(dropped).toBeGreaterThan(0);
    expect(traces).toBeGreaterThan(0);
    // order is kept: what arrived is an increasing subsequence of what was published
    const ids = [...text.matchAll(/"requestId":"slow-(\d+)"/g)].map((m) => Number(m[1]));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    res.destroy();
  });
});
