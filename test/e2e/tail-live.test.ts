// `ibex tail --json` against a real `ibex serve`: requests sent to the gateway arrive as NDJSON lines.
// (Reconnecting after a restart is covered by test/integration/tail-client.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { request } from 'undici';
import { BIN, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('ibex tail --json against a live gateway', () => {
  let gw: TestGateway;
  let token: string;
  let tail: ResultPromise;
  const lines: string[] = [];

  const chat = async (g: TestGateway) => {
    const r = await request(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tail-model', messages: [{ role: 'user', content: 'x' }] }),
    });
    await r.body.dump();
    return String(r.headers['x-request-id']);
  };
  const waitForLine = async (requestId: string, timeoutMs = 5000) => {
    const t0 = Date.now();
    for (;;) {
      const found = lines.map((l) => JSON.parse(l) as { requestId: string; agent: string; status: number }).find((t) => t.requestId === requestId);
      if (found) return found;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no NDJSON line for ${requestId} within ${timeoutMs} ms; got ${lines.length} lines`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ token } = await provision(gw, 'tailed'));
    tail = execa('node', [BIN, 'tail', '--json', '--url', gw.url], { env: gw.env, reject: false, buffer: false });
    let partial = '';
    tail.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts.filter(Boolean));
    });
    await new Promise((r) => setTimeout(r, 1000)); // connected
  });
  afterAll(async () => {
    tail?.kill('SIGINT');
    await tail;
    await gw?.stop();
  });

  it('each request arrives as one trace line; stdout is NDJSON only', async () => {
    const id = await chat(gw);
    const line = await waitForLine(id);
    expect(line).toMatchObject({ requestId: id, agent: 'tailed', status: 200 });
    expect(lines.every((l) => typeof JSON.parse(l) === 'object')).toBe(true);
  });
});
