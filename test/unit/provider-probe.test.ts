// The optional background probe: every tick asks each provider for /models and its health records it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProvider } from '../../src/providers/http-provider.js';
import { ProviderRegistry } from '../../src/providers/index.js';
import { KINDS } from '../../src/providers/kinds.js';
import { startProviderProbe } from '../../src/providers/probe.js';

describe('provider probe', () => {
  let server: http.Server;
  const paths: string[] = [];
  let status = 200;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('asks each provider for its models on every tick and records success, then failure', async () => {
    const provider = new HttpProvider(
      { id: 'p1', kind: KINDS.openai, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keys: [], keyStrategy: 'round_robin', cooldownMs: 0, headers: {} },
      { connections: 2, connectTimeoutMs: 1000, ttfbTimeoutMs: 1000, idleTimeoutMs: 1000, retry: { maxRetries: 0, minDelayMs: 1, maxRetryAfterMs: 1 } },
    );
    const registry = new ProviderRegistry().register(provider);
    const stop = startProviderProbe(() => registry, 50);
    try {
      await expect.poll(() => provider.status().health.requests, { timeout: 3000 }).toBeGreaterThanOrEqual(1);
      expect(paths[0]).toBe('/v1/models');
      expect(provider.status().health.lastSuccessAt).not.toBeNull();
      status = 503;
      await expect.poll(() => provider.status().health.errors, { timeout: 3000 }).toBeGreaterThanOrEqual(1);
      expect(provider.status().health.lastError?.status).toBe(503);
    } finally {
      stop();
      await provider.close();
    }
  });
});
