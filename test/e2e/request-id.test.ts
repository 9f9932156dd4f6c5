// The caller's X-Request-Id is findable (issue 11, item 7): a user reports the id their client sent;
// an operator finds the trace with `ibex traces list --request-id`, sees it live in `ibex tail --json`
// (the /admin/v1/events stream), and in the session's checkpoint. ibex's own id stays the record's key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { request } from 'undici';
import { BIN, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface TraceLine {
  requestId: string;
  clientRequestId: string | null;
  sessionId: string | null;
  agent: string;
}

describe("the caller's X-Request-Id is stored and findable", () => {
  let gw: TestGateway;
  let token: string;
  let tail: ResultPromise;
  const lines: string[] = [];

  const chat = async (headers: Record<string, string> = {}) => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    });
    await r.body.dump();
    expect(r.statusCode).toBe(200);
    return { echoed: String(r.headers['x-request-id']), session: String(r.headers['x-ibex-session']) };
  };
  // Generous: each step spawns the CLI, which takes seconds on a loaded machine.
  const until = async <T,>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const listed = async (id: string) =>
    JSON.parse((await gw.cli(['traces', 'list', '--request-id', id, '--json'])).stdout) as TraceLine[];

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ token } = await provision(gw, 'reqid'));
    tail = execa('node', [BIN, 'tail', '--json', '--url', gw.url], { env: gw.env, reject: false, buffer: false });
    let partial = '';
    tail.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts.filter(Boolean));
    });
    await new Promise((r) => setTimeout(r, 1000)); // connected
  }, 60_000);

  afterAll(async () => {
    tail?.kill('SIGINT');
    await tail;
    await gw?.stop();
  });

  it('traces list --request-id finds the trace by the caller id or by ibex id; tail and the checkpoint carry it', async () => {
    const callerId = `user-report-${Date.now()}`;
    const { echoed, session } = await chat({ 'x-request-id': callerId });
    expect(echoed).toBe(callerId);
    const plain = await chat(); // no caller id: none stored

    const found = await until('the trace by the caller id', async () => {
      const rows = await listed(callerId);
      return rows.length ? rows : undefined;
    });
    expect(found).toHaveLength(1);
    const [t] = found;
    expect(t).toMatchObject({ clientRequestId: callerId, sessionId: session, agent: 'reqid' });
    expect(t!.requestId).not.toBe(callerId); // ibex's own id is still the key
    expect((await listed(t!.requestId)).map((r) => r.clientRequestId)).toEqual([callerId]);

    const other = await until('the plain trace', async () => {
      const rows = await listed(plain.echoed);
      return rows.length ? rows : undefined;
    });
    expect(other.map((r) => [r.requestId, r.clientRequestId])).toEqual([[plain.echoed, null]]);
    expect(await listed(`nobody-${Date.now()}`)).toEqual([]);

    // The table shows the column too.
    const table = (await gw.cli(['traces', 'list', '--request-id', callerId])).stdout;
    expect(table).toMatch(/CLIENT REQUEST ID/);
    expect(table).toContain(callerId);

    // Live: the /admin/v1/events stream behind `ibex tail --json`.
    const live = await until('the tail line', async () =>
      lines.map((l) => JSON.parse(l) as TraceLine).find((l) => l.requestId === t!.requestId),
    );
    expect(live.clientRequestId).toBe(callerId);

    const shown = JSON.parse((await gw.cli(['sessions', 'show', session, '--json'])).stdout) as {
      checkpoints: { requestId: string; clientRequestId: string | null }[];
    };
    expect(shown.checkpoints.map((c) => [c.requestId, c.clientRequestId])).toEqual([[t!.requestId, callerId]]);
  }, 90_000);
});
