// HttpProvider's retry loop against a tiny upstream that always fails: what it retries, what it hands
// back, and that a client leaving during a backoff ends the wait at once (ADR 0008).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProvider } from '../../src/providers/http-provider.js';
import { KINDS } from '../../src/providers/kinds.js';
import { AbortEmitter } from '../../src/util/abort-emitter.js';

describe('HttpProvider retries', () => {
  let server: http.Server;
  let requests = 0;
  /** status and retry-after of every answer */
  let answer: { status: number; retryAfter?: string } = { status: 502 };

  const provider = () =>
    new HttpProvider(
      {
        id: 'openai',
        kind: KINDS.openai,
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        keys: [{ value: 'sk-test', masked: 'sk-…test' }],
        keyStrategy: 'round_robin',
        cooldownMs: 60_000,
        headers: {},
      },
      {
      connections: 4,
      connectTimeoutMs: 1000,
      ttfbTimeoutMs: 5000,
      idleTimeoutMs: 5000,
      retry: { maxRetries: 2, minDelayMs: 20, maxRetryAfterMs: 2000 },
      },
    );

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer.retryAfter) headers['retry-after'] = answer.retryAfter;
      res.writeHead(answer.status, headers).end(JSON.stringify({ error: { message: `attempt ${requests}` } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('retries a 502 twice, then hands back the last response with its body', async () => {
    requests = 0;
    answer = { status: 502 };
    const p = provider();
    const res = await p.send({ method: 'POST', path: '/chat/completions', body: '{}' }, { requestId: 'r1', signal: new AbortEmitter() });
    expect(res.status).toBe(502);
    expect(await res.body.text()).toContain('attempt 3');
    expect(requests).toBe(3);
    await p.close();
  });

  it('a client that leaves during a backoff ends the wait at once and sends nothing more', async () => {
    requests = 0;
    answer = { status: 503, retryAfter: '1' }; // the backoff is then 1 s
    const p = provider();
    const signal = new AbortEmitter();
    const t0 = Date.now();
    setTimeout(() => signal.abort(), 50);
    await expect(p.send({ method: 'POST', path: '/chat/completions', body: '{}' }, { requestId: 'r2', signal })).rejects.toThrow(/aborted/);
    expect(Date.now() - t0).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 1200));
    expect(requests).toBe(1);
    await p.close();
  });
});
