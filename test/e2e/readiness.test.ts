// Issue 11, item 6: /readyz tells a load balancer the truth quickly. While the gateway drains for
// shutdown it answers 503 "draining" (the listener stays open: not a refused connection) and new
// requests get 503 server_shutting_down while the in-flight stream still finishes; and a store that
// hangs makes /readyz answer 503 within a second, naming that store, instead of hanging with it.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { describeWithClickHouse, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET on a fresh connection (never a pooled one the gateway may have closed). */
async function get(url: string): Promise<{ status: number | null; body: unknown; ms: number; error?: string }> {
  const fresh = new Agent({ connections: 1 });
  const t0 = Date.now();
  try {
    const res = await request(url, { dispatcher: fresh, headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    return { status: res.statusCode, body: JSON.parse(text), ms: Date.now() - t0 };
  } catch (err) {
    return { status: null, body: null, ms: Date.now() - t0, error: (err as { code?: string }).code ?? String(err) };
  } finally {
    await fresh.destroy();
  }
}

describe('/readyz and new requests while draining', () => {
  it('503 "draining" and 503 server_shutting_down during the drain, while the in-flight stream finishes', async () => {
    // One stream of 30 × 100 ms ≈ 3 s: the drain lasts that long.
    const gw = await startTestGateway({ mock: { chunks: 30, chunkIntervalMs: 100 } });
    try {
      const { token } = await provision(gw, 'drainready');
      expect((await get(`${gw.url}/readyz`)).status).toBe(200);
      const stream = request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long' }] }),
      }).then(async (res) => ({ status: res.statusCode, text: await res.body.text() }));
      await gw.mock!.stats.waitFor((s) => s.inflight === 1, 10_000);

      gw.proc.kill('SIGTERM');
      const t0 = Date.now();
      while (!/SIGTERM: draining/.test(gw.output())) {
        if (Date.now() - t0 > 5000) throw new Error(`no drain log:\n${gw.output()}`);
        await sleep(5);
      }
      const ready = await get(`${gw.url}/readyz`);
      expect(ready, JSON.stringify(ready)).toMatchObject({ status: 503, body: { status: 'draining' } });
      expect((await get(`${gw.url}/healthz`)).status).toBe(200);

      const fresh = new Agent({ connections: 1 });
      const late = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: fresh,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'too late' }] }),
      });
      const lateBody = (await late.body.json()) as { error: { code: string; type: string } };
      await fresh.destroy();
      expect(late.statusCode).toBe(503);
      expect(lateBody.error).toMatchObject({ code: 'server_shutting_down', type: 'api_error' });
      expect(gw.mock!.stats.inflight, 'the stream is still running').toBe(1);

      const done = await stream;
      expect(done.status).toBe(200);
      expect(done.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      const r = await gw.proc;
      expect(r.exitCode).toBe(0);
      // the late request never reached the upstream
      expect(gw.mock!.stats.recent.some((q) => JSON.stringify(q.body).includes('too late'))).toBe(false);
    } finally {
      if (gw.proc.exitCode === null) gw.proc.kill('SIGKILL');
      await gw.mock?.close();
    }
  }, 60_000);
});

/** A TCP proxy that can stop forwarding (the store behind it then hangs: connected, never answering). */
function freezableProxy(targetPort: number): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d) => !frozen && upstream.write(d));
    upstream.on('data', (d) => !frozen && client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        freeze: () => void (frozen = true),
        thaw: () => {
          frozen = false;
          // Connections that lost bytes while frozen are out of step: drop them, clients reconnect.
          for (const s of sockets) s.destroy();
        },
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      }),
    );
  });
}

describeWithClickHouse('/readyz with a store that hangs', () => {
  let db: TestClickHouseDatabase;
  let proxy: Awaited<ReturnType<typeof freezableProxy>>;
  let gw: TestGateway;

  beforeAll(async () => {
    db = testClickHouseDatabase('readyz_hang');
    const target = new URL(db.url);
    proxy = await freezableProxy(Number(target.port || 8123));
    gw = await startTestGateway({ env: { IBEX_CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}/${db.name}` } });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 within a second, naming the store that hangs; the others still reported', async () => {
    const before = await get(`${gw.url}/readyz`);
    expect(before, JSON.stringify(before)).toMatchObject({ status: 200, body: { status: 'ready' } });

    proxy.freeze();
    const hung = await get(`${gw.url}/readyz`);
    expect(hung.status, JSON.stringify(hung)).toBe(503);
    expect(hung.ms).toBeLessThan(1000);
    const checks = (hung.body as { checks: { name: string; ok: boolean; detail?: string }[] }).checks;
    expect(checks.find((c) => c.name === 'clickhouse')).toMatchObject({ ok: false });
    expect(checks.find((c) => c.name === 'storage')).toMatchObject({ ok: true });

    proxy.thaw();
    const t0 = Date.now();
    let again = await get(`${gw.url}/readyz`);
    while (again.status !== 200 && Date.now() - t0 < 10_000) {
      await sleep(200);
      again = await get(`${gw.url}/readyz`);
    }
    expect(again.status, JSON.stringify(again)).toBe(200);
  }, 30_000);
});
