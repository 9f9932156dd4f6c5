// The built `ibex serve` with the request debug log and OpenTelemetry on: `ibex logs --requests` shows
// the request (PAT and provider key redacted), and spans reach a local OTLP/HTTP receiver.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestGateway, UPSTREAM_KEY, type TestGateway } from '../helpers/gateway.js';

describe('ibex serve with IBEX_DEBUG_REQUESTS and OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let gw: TestGateway;
  let receiver: Server;
  const spans: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        spans.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const addr = receiver.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    gw = await startTestGateway({
      env: { IBEX_DEBUG_REQUESTS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => receiver?.close(r));
  });

  it('logs the full request and reply, secrets redacted, and exports a span', async () => {
    const { token } = await provision(gw, 'dbg');
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'dbg-req-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my token is ${token} and ${UPSTREAM_KEY}` }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(gw.output()).toContain('request debug log:');
    expect(gw.output()).toContain('telemetry: OTLP/HTTP');
    let out = '';
    for (let i = 0; i < 50 && !out.includes('dbg-req-1'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = (await gw.cli(['logs', '--requests'])).stdout;
    }
    const line = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ clientRequestId: 'dbg-req-1', agent: 'dbg', status: 200 });
    expect(line.request.messages[0].content).toContain('my token is');
    expect(line.reply.text).toContain('echo:');
    expect(out).not.toContain(token);
    expect(out).not.toContain(UPSTREAM_KEY);
    for (let i = 0; i < 50 && !spans.some((s) => s.includes('gen_ai.request.model')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(spans.join('')).toContain('"chat gpt-4o-mini"');
  });
});
