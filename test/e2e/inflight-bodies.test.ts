// IBEX_MAX_INFLIGHT_BODY_BYTES through a real `ibex serve`: while one request's body is held (sent
// slowly), another that would take the total past the bound gets 503 server_busy at once, in its own
// protocol's error shape, with retry-after; when the first completes, the bound is free again.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const BOUND = 8192;

describe('the bound of request bodies held at once', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { IBEX_MAX_INFLIGHT_BODY_BYTES: String(BOUND) } });
    ({ token } = await provision(gw, 'bodies'));
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const chatBody = (size: number) => {
    const base = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: '' }] });
    return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(size - base.length) }] });
  };

  /** A request whose body is sent in two parts: the headers and the first half now, the rest on `finish()`. */
  function slowRequest(body: string): { finish(): void; response: Promise<string> } {
    const { port } = new URL(gw.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    const half = Math.floor(body.length / 2);
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n` +
        body.slice(0, half),
    );
    let text = '';
    socket.on('data', (c) => (text += c.toString()));
    const response = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
    return { finish: () => socket.write(body.slice(half)), response };
  }

  it('a second body that would pass the bound is refused at once, in its protocol, until the first is done', async () => {
    const held = slowRequest(chatBody(6000));
    await new Promise((r) => setTimeout(r, 200)); // the gateway has reserved the first body

    const chat = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chatBody(4000),
    });
    expect(chat.status).toBe(503);
    expect(chat.headers.get('retry-after')).toBe('1');
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('server_busy');

    const messages = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'y'.repeat(4000) }] }),
    });
    expect(messages.status).toBe(503);
    expect(await messages.json()).toMatchObject({ type: 'error', error: { code: 'server_busy' } });

    // a small one still fits beside the held body
    const small = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chatBody(500),
    });
    expect(small.status).toBe(200);

    held.finish();
    expect(await held.response).toMatch(/^HTTP\/1\.1 200/);
    const again = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chatBody(4000),
    });
    expect(again.status).toBe(200);
    // the two refusals are counted
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/^ibex_server_busy_total 2$/m);
  });

  it('what a refused, broken or abandoned request held is given back (the bound does not leak)', async () => {
    const post = (body: string) =>
      fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    // bodies that are not JSON: 400 each, after being read whole
    for (let i = 0; i < 5; i++) expect((await post('{' + 'x'.repeat(6000))).status).toBe(400);
    // a caller that leaves halfway through its body
    const { port } = new URL(gw.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 6000\r\n\r\n{"model":`);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    // a body of most of the bound fits again
    expect((await post(chatBody(7000))).status).toBe(200);
  });
});

