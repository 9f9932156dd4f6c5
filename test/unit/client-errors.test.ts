// Parser-level errors (oversized headers, broken framing) are answered with an OpenAI-shaped body
// and a lingering close, so a client still sending gets the answer instead of a reset.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorHandler, LINGER_MS } from '../../src/server/client-errors.js';
import { buildRequest, sendRaw } from '../helpers/corpus.js';

describe('clientErrorHandler', () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    server.on('clientError', clientErrorHandler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers every 1 MiB header with 431 and an OpenAI-shaped body, none lost to a reset', async () => {
    const bytes = buildRequest('POST', '/v1/chat/completions', [['X-Pad', 'a'.repeat(1024 * 1024)]], '{}');
    const statuses: (number | null)[] = [];
    // Several at once: the race between our close and the client's write is what used to lose answers.
    for (let round = 0; round < 10; round++) {
      const res = await Promise.all(Array.from({ length: 5 }, () => sendRaw(port, bytes, { timeoutMs: 10_000 })));
      for (const r of res) {
        statuses.push(r?.status ?? null);
        if (r) expect(JSON.parse(r.body.toString('utf8')).error.code).toBe('request_headers_too_large');
      }
    }
    expect(statuses.every((s) => s === 431), statuses.join(',')).toBe(true);
  }, 60_000);

  it('answers broken framing with 400 invalid_request', async () => {
    const res = await sendRaw(port, Buffer.from('GET /v1/\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(res?.status).toBe(400);
    expect(JSON.parse(res!.body.toString('utf8')).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
  });

  it('cuts a client that keeps sending after the answer within the linger bound', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.on('error', () => {});
    const started = Date.now();
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nX-Pad: `);
    // 64 KiB every 20 ms, forever, until the server closes the socket.
    const pad = Buffer.alloc(64 * 1024, 'a');
    const pump = setInterval(() => {
      if (!socket.destroyed) socket.write(pad);
    }, 20);
    await new Promise<void>((r) => socket.once('close', () => r()));
    clearInterval(pump);
    const elapsed = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(elapsed).toBeLessThan(LINGER_MS + 2_000);
  }, 10_000);

  it('closes at once when the client ends its side after the answer', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n\r\n')) socket.end();
    });
    const started = Date.now();
    socket.write('NOT HTTP AT ALL\r\n\r\n');
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(Date.now() - started).toBeLessThan(LINGER_MS);
  });
});
