// A slow reading client (issue 8, item 1): a client that stops reading a long, fast stream and then reads
// it slowly. The gateway must pass the backpressure on to the upstream (its writes block) instead of
// buffering the stream, so its memory stays bounded, and the client must still get every byte intact.
//
// The upstream is hand-written here (not the mock) because the test needs to see its side of the
// backpressure: it generates the SSE lazily, writes until `res.write()` returns false, then waits for
// `drain`, and counts what it managed to write. The stream (~110 MB) is far larger than everything the
// kernel can buffer on two loopback hops (tcp_rmem/tcp_wmem maxima), so a plateau in the upstream's
// byte count can only come from the gateway not reading.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const EVENTS = 100_000;
const FILLER = 'x'.repeat(1000);
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function event(i: number): string {
  return `data: {"id":"chatcmpl-slow","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"${i}:${FILLER}"},"finish_reason":null}]}\n\n`;
}
const TAIL =
  'data: {"id":"chatcmpl-slow","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
  'data: [DONE]\n\n';

interface Producer {
  url: string;
  server: http.Server;
  /** bytes handed to res.write() so far */
  written: number;
  /** total bytes of the whole stream */
  total: number;
  /** true while the producer waits for `drain` */
  blocked: boolean;
  /** how often it had to wait for `drain` */
  drains: number;
  done: boolean;
  sha256: string | null;
}

function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function startProducer(): Promise<Producer> {
  let total = TAIL.length;
  for (let i = 0; i < EVENTS; i++) total += Buffer.byteLength(event(i));
  const p: Producer = { url: '', server: null as unknown as http.Server, written: 0, total, blocked: false, drains: 0, done: false, sha256: null };
  p.server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (Buffer.concat(body).includes('warm-up')) {
        // a short stream, so the gateway's first-request allocations are not counted as growth
        res.end(event(0) + event(1) + TAIL);
        return;
      }
      const hash = createHash('sha256');
      const send = async (s: string) => {
        hash.update(s);
        p.written += Buffer.byteLength(s);
        if (!res.write(s)) {
          p.blocked = true;
          p.drains++;
          await drainOrClose(res);
          p.blocked = false;
        }
      };
      for (let i = 0; i < EVENTS && !res.destroyed; i++) await send(event(i));
      if (res.destroyed) return;
      await send(TAIL);
      res.end();
      p.sha256 = hash.digest('hex');
      p.done = true;
    });
  });
  return new Promise((resolve) => {
    p.server.listen(0, '127.0.0.1', () => {
      p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}/v1`;
      resolve(p);
    });
  });
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

describe('slow reading client', () => {
  let producer: Producer;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    producer = await startProducer();
    gw = await startTestGateway({ mock: false, env: { IBEX_UPSTREAM_URL: producer.url } });
    ({ token } = await provision(gw, 'slow'));
  });
  afterAll(async () => {
    await gw?.stop();
    producer?.server.closeAllConnections();
    producer?.server.close();
  });

  it('backpressure reaches the upstream, gateway memory stays bounded, the client gets every byte', async () => {
    const pid = gw.proc.pid!;
    // Warm the gateway up (the first streamed request compiles and allocates), then take the baseline.
    const warm = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'warm-up' }] }),
    });
    expect((await warm.text()).endsWith('data: [DONE]\n\n')).toBe(true);
    await sleep(200);
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(pid));
      } catch {
        // the process is gone: the assertions below will say why
      }
    }, 50);

    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          agent: false,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        });
        req.on('response', resolve);
        req.on('error', reject);
        req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long one' }] }));
      });
      expect(res.statusCode).toBe(200);
      res.pause();

      // Phase 1: the client reads nothing. The upstream must get stuck well before the end.
      await sleep(2000);
      const writtenAt2s = producer.written;
      await sleep(1000);
      const writtenAt3s = producer.written;
      expect(producer.blocked).toBe(true);
      expect(writtenAt3s - writtenAt2s).toBeLessThan(MB); // a plateau: nothing moves without the reader
      expect(writtenAt3s).toBeLessThan(producer.total / 2);
      const plateauMB = writtenAt3s / MB;
      // While the client does not read, the gateway holds only socket buffers, not the stream. (Measured:
      // +0 to +35 MB of RSS noise on a busy machine; without backpressure it would read the ~110 MB stream
      // at full upstream speed within these 3 s.)
      const pausedGrowthMB = (peak - baseline) / MB;
      expect(pausedGrowthMB, 'gateway RSS growth while the client does not read').toBeLessThan(64);

      // Phase 2: read slowly (a 1 ms pause after every chunk), hash everything.
      const hash = createHash('sha256');
      let bytes = 0;
      let lastChunk: Buffer = Buffer.alloc(0);
      await new Promise<void>((resolve, reject) => {
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          lastChunk = chunk;
          res.pause();
          setTimeout(() => res.resume(), 1);
        });
        res.on('end', resolve);
        res.on('error', reject);
        res.resume();
      });

      expect(producer.done).toBe(true);
      expect(bytes).toBe(producer.total);
      expect(hash.digest('hex')).toBe(producer.sha256); // forwarded byte for byte
      expect(lastChunk.toString().endsWith('data: [DONE]\n\n')).toBe(true);
      expect(producer.drains).toBeGreaterThan(0);

      const growthMB = (peak - baseline) / MB;
      // Over the whole ~110 MB stream: socket buffers, garbage not yet collected, and the checkpoint
      // copy (capped at 8 MiB, parsed once at the end of the stream, which is the peak). Measured +72
      // to +78 MB alone and +104 MB under the full suite's load (V8 collects later when the CPU is
      // busy), so this bound only catches the stream being held more than once; phase 1 above is
      // what proves the backpressure.
      expect(growthMB, `gateway RSS growth (plateau upstream at ${plateauMB.toFixed(1)} MB)`).toBeLessThan(140);
      console.log(
        `slow client: stream ${(producer.total / MB).toFixed(1)} MB, upstream stalled at ${plateauMB.toFixed(1)} MB, ` +
          `${producer.drains} drain waits, gateway RSS ${(baseline / MB).toFixed(0)} MB, +${pausedGrowthMB.toFixed(1)} MB while paused, ` +
          `peak ${(peak / MB).toFixed(0)} MB (+${growthMB.toFixed(1)})`,
      );
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);
});
