// Issue 11, items 3 and 4: the PAT is checked before the body is read, and refused requests cannot fill
// the trace store. Both failed before the auth hook: bodies were buffered and parsed first (40 × 4 MiB of
// nested JSON stalled /healthz and grew RSS by ~115 MB), and every refused request wrote a trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { readRss } from '../../src/bench/rss.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const MiB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('authentication before the body', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('answers 40 parallel 4 MiB nested bodies with a bad token 401 without stalling /healthz or growing RSS', async () => {
    const pid = gw.proc.pid!;
    // Warm up the health route and the allocator so the baseline is not the cold start.
    for (let i = 0; i < 20; i++) await (await request(`${gw.url}/healthz`)).body.dump();
    const before = readRss(pid)!.rssKb!;

    const half = 2 * MiB;
    const body = Buffer.from('['.repeat(half) + ']'.repeat(half));
    const floods = Array.from({ length: 40 }, (_, i) =>
      request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${i % 2 ? 'nope' : 'ibex_pat_' + 'A'.repeat(36)}`, 'content-type': 'application/json' },
        body,
      }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() })),
    );

    const health: number[] = [];
    let peakKb = before;
    const probe = (async () => {
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        const r = await request(`${gw.url}/healthz`);
        await r.body.dump();
        health.push(performance.now() - t0);
        peakKb = Math.max(peakKb, readRss(pid)?.rssKb ?? 0);
      }
    })();

    const results = await Promise.all(floods);
    await probe;
    peakKb = Math.max(peakKb, readRss(pid)?.rssKb ?? 0);

    for (const r of results) {
      expect(r.status).toBe(401);
      expect(JSON.parse(r.text).error.code).toBe('invalid_api_key');
    }
    expect(median(health)).toBeLessThan(20);
    expect((peakKb - before) / 1024).toBeLessThan(30);
  });

  it('counts every refused request in /metrics and traces at most one per client address per second', async () => {
    const metric = async () => {
      const text = await (await request(`${gw.url}/metrics`)).body.text();
      const m = /^ibex_auth_rejected_total (\d+)/m.exec(text);
      return m ? Number(m[1]) : NaN;
    };
    const countBefore = await metric();
    const list = async () =>
      (JSON.parse((await gw.cli(['traces', 'list', '--json', '--limit', '1000'])).stdout) as { status: number }[]).filter((t) => t.status === 401)
        .length;
    await new Promise((r) => setTimeout(r, 1100)); // let the previous test's traces land
    const tracedBefore = await list();

    const t0 = Date.now();
    const n = 300;
    for (let i = 0; i < n; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, () =>
          request(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: 'Bearer ibex_pat_' + 'B'.repeat(36), 'content-type': 'application/json' },
            body: '{"model":"m","messages":[{"role":"user","content":"x"}]}',
          }).then((r) => r.body.dump()),
        ),
      );
    }
    const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
    expect(await metric()).toBe(countBefore + n);

    await new Promise((r) => setTimeout(r, 500)); // the trace batch closes within 50 ms
    const traced = (await list()) - tracedBefore;
    expect(traced).toBeGreaterThanOrEqual(1);
    expect(traced).toBeLessThanOrEqual(seconds);
  });
});
