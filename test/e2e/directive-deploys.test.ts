// Directives run like deployments (issue 15), through a real `ibex serve` and the CLI: a canary over
// 1,000 sessions, sticky sessions, promote/abort, an all-sessions rollout, diff, apply, stats and the
// opt-in prompt-cache key, checked by what the mock upstream received and what the store recorded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { echoed, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { inCanary } from '../../src/directives/split.js';
import type { RecordedRequest } from '../../src/mock/server.js';

interface Turn {
  version: string | undefined;
  session: string;
  directive: unknown;
}

describe('directive deployments e2e', () => {
  let gw: TestGateway;
  let token: string;
  const received: RecordedRequest[] = [];

  /** One chat turn: the served version (header), the session and the directive the mock received. */
  async function turn(session?: string): Promise<Turn> {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(session ? { 'x-ibex-session': session } : {}),
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
    expect(res.statusCode).toBe(200);
    return {
      version: res.headers['x-ibex-directive-version'] as string | undefined,
      session: res.headers['x-ibex-session'] as string,
      directive: echoed(json.choices[0]!.message.content)[0]!.content,
    };
  }

  /** Runs `fn` over `items`, `width` at a time. */
  async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < items.length) {
          const i = next++;
          out[i] = await fn(items[i]!);
        }
      }),
    );
    return out;
  }

  /** Waits until a *new* session (a fresh id each try: a session keeps what it got) is served `version`. */
  async function untilNewSessionsGet(version: string, id: (i: number) => string = (i) => `probe-${version}-${Date.now()}-${i}`): Promise<void> {
    const t0 = Date.now();
    for (let i = 0; ; i++) {
      if ((await turn(id(i))).version === version) return;
      if (Date.now() - t0 > 5000) throw new Error(`new sessions not served v${version} within 5 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    gw = await startTestGateway({ mock: { onRequest: (r) => void received.push(r) } });
    ({ token } = await provision(gw, 'dep', { directive: 'D1' }));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a 10 % canary: 1,000 new sessions split within ±5 %, each session sticky, the header and records say which', async () => {
    const set = await gw.cli(['directive', 'set', 'dep', '--text', 'D2', '--canary', '10']);
    expect(set.stdout).toContain('canary for 10% of new sessions');
    let n = 0;
    await untilNewSessionsGet('2', () => {
      for (;;) {
        const id = `canary-probe-${n++}`;
        if (inCanary(id, 10)) return id;
      }
    });

    const first = await pool(
      Array.from({ length: 1000 }, () => undefined),
      25,
      () => turn(),
    );
    const canary = first.filter((t) => t.version === '2');
    expect(first.every((t) => t.version === '1' || t.version === '2')).toBe(true);
    expect(Math.abs(canary.length / 10 - 10)).toBeLessThanOrEqual(5);
    // what was served is what the upstream received
    for (const t of first) expect(t.directive).toBe(t.version === '2' ? 'D2' : 'D1');

    // sticky: every session's next turn gets the same version
    const again = await pool(first.slice(0, 200), 25, (t) => turn(t.session));
    again.forEach((t, i) => expect(t.version).toBe(first[i]!.version));

    // records: the traces name the version served
    const session = canary[0]!.session;
    await expect
      .poll(
        async () => {
          const traces = JSON.parse((await gw.cli(['traces', 'list', '--session', session, '--json'])).stdout) as { directiveVersion: number }[];
          return traces.length > 0 && traces.every((t) => t.directiveVersion === 2);
        },
        { timeout: 5000 },
      )
      .toBe(true);
  }, 120_000);

  it('stats per version count requests and sessions of the canary and the stable version', async () => {
    await expect
      .poll(
        async () => {
          const s = JSON.parse((await gw.cli(['directive', 'stats', 'dep', '--json'])).stdout) as {
            canary: { version: number; percent: number };
            versions: { version: number; role: string; requests: number; sessions: number; errorRate: number; latencyMs: { p50: number } }[];
          };
          return s.versions.reduce((sum, v) => sum + v.requests, 0) >= 1200 ? s : null;
        },
        { timeout: 10_000, interval: 300 },
      )
      .not.toBeNull();
    const s = JSON.parse((await gw.cli(['directive', 'stats', 'dep', '--json'])).stdout);
    expect(s.canary).toEqual({ version: 2, percent: 10 });
    const byV = new Map<number, { role: string; requests: number; sessions: number; errorRate: number; latencyMs: { p50: number } }>(
      s.versions.map((v: { version: number }) => [v.version, v]),
    );
    expect(byV.get(2)).toMatchObject({ role: 'canary', errorRate: 0 });
    expect(byV.get(1)).toMatchObject({ role: 'stable', errorRate: 0 });
    expect(byV.get(2)!.sessions).toBeGreaterThan(50);
    expect(byV.get(1)!.sessions).toBeGreaterThan(800);
    expect(byV.get(1)!.latencyMs.p50).toBeGreaterThan(0);
    const table = (await gw.cli(['directive', 'stats', 'dep'])).stdout;
    expect(table).toMatch(/VERSION\s+ROLE\s+REQUESTS\s+SESSIONS/);
    expect(table).toMatch(/\n2\s+canary\s+\d+/);
  });

  it('promote serves the canary to new sessions; started sessions keep theirs', async () => {
    // Any session on v1 will do: with a 10 % canary a new id lands on v1 nine times in ten, so a few
    // tries make a miss vanishingly unlikely (two tries failed about once in a hundred runs).
    let stable = await turn('started-on-v1-' + Date.now());
    for (let i = 0; i < 30 && stable.version !== '1'; i++) stable = await turn(`started-on-v1-${i}-${Date.now()}`);
    expect(stable.version).toBe('1');
    const promoted = await gw.cli(['directive', 'promote', 'dep']);
    expect(promoted.stdout).toContain('version 2 promoted');
    let n = 0;
    await untilNewSessionsGet('2', () => {
      for (;;) {
        const id = `outside-probe-${n++}`;
        if (!inCanary(id, 10)) return id;
      }
    });
    const results = await pool(Array.from({ length: 50 }, () => undefined), 10, () => turn());
    expect(results.every((t) => t.version === '2')).toBe(true);
    expect((await turn(stable.session)).version).toBe('1');
    // nothing left to promote or abort
    const again = await gw.cli(['directive', 'promote', 'dep'], { reject: false });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/no canary running/);
  });

  it('abort serves the stable text again as a new version', async () => {
    await gw.cli(['directive', 'set', 'dep', '--text', 'D3-bad', '--canary', '50']);
    const r = await gw.cli(['directive', 'abort', 'dep']);
    expect(r.stdout).toContain('version 4 serves the stable text again');
    await untilNewSessionsGet('4');
    const t = await turn();
    expect(t).toMatchObject({ version: '4', directive: 'D2' });
  });

  it('--rollout all-sessions moves started sessions too', async () => {
    const s = await turn();
    await gw.cli(['directive', 'set', 'dep', '--text', 'D5', '--rollout', 'all-sessions']);
    await untilNewSessionsGet('5');
    await expect.poll(async () => (await turn(s.session)).version, { timeout: 3000 }).toBe('5');
  });

  it('diff shows what changed between versions', async () => {
    const r = await gw.cli(['directive', 'diff', 'dep', '--from', '1', '--to', '2']);
    expect(r.stdout).toBe('--- dep v1\n+++ dep v2\n@@ -1,1 +1,1 @@\n-D1\n+D2'); // execa drops the final newline
    const latest = await gw.cli(['directive', 'diff', 'dep']); // previous → latest
    expect(latest.stdout).toContain('--- dep v4\n+++ dep v5\n');
    const same = await gw.cli(['directive', 'diff', 'dep', '--from', '2', '--to', '4']);
    expect(same.stdout).toContain('same text');
    const json = JSON.parse((await gw.cli(['directive', 'diff', 'dep', '--from', '1', '--to', '2', '--json'])).stdout);
    expect(json).toMatchObject({ agent: 'dep', from: 1, to: 2, changed: true });
  });

  it('apply -f DIR: a plan, --dry-run changes nothing, a second apply is a no-op', async () => {
    await gw.cli(['agent', 'create', 'ops-a']);
    await gw.cli(['agent', 'create', 'ops-b']);
    await gw.cli(['directive', 'set', 'ops-b', '--text', 'B1']);
    const dir = mkdtempSync(join(tmpdir(), 'ibex-apply-'));
    try {
      writeFileSync(join(dir, 'ops-a.md'), 'You are A.\nBe brief.\n');
      writeFileSync(join(dir, 'ops-b.md'), 'B1\n'); // only the trailing newline differs: unchanged
      const dry = await gw.cli(['directive', 'apply', '-f', dir, '--dry-run']);
      expect(dry.stdout).toContain('+ ops-a: new directive → v1 (+2 -0 lines)');
      expect(dry.stdout).toContain('= ops-b: unchanged (v1)');
      expect(dry.stdout).toContain('Plan: 1 to apply, 1 unchanged (dry run: nothing changed).');
      expect((await gw.cli(['directive', 'history', 'ops-a'])).stdout).toContain('(none)');

      const applied = await gw.cli(['directive', 'apply', '-f', dir]);
      expect(applied.stdout).toContain('Applied: 1 changed, 1 unchanged.');
      const again = JSON.parse((await gw.cli(['directive', 'apply', '-f', dir, '--json'])).stdout) as { steps: { action: string }[] };
      expect(again.steps.map((s) => s.action)).toEqual(['unchanged', 'unchanged']);
      expect(JSON.parse((await gw.cli(['directive', 'history', 'ops-a', '--json'])).stdout)).toHaveLength(1);
      expect(JSON.parse((await gw.cli(['directive', 'history', 'ops-b', '--json'])).stdout)).toHaveLength(1);

      writeFileSync(join(dir, 'ops-b.md'), 'B2\n');
      writeFileSync(join(dir, 'ghost.md'), 'x');
      const bad = await gw.cli(['directive', 'apply', '-f', dir], { reject: false });
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toContain('no agent named "ghost"');
      expect(JSON.parse((await gw.cli(['directive', 'history', 'ops-b', '--json'])).stdout)).toHaveLength(1); // nothing applied
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prompt cache on: the upstream gets prompt_cache_key ibex:AGENT:vN, unless the caller sent one', async () => {
    const before = received.length;
    await turn();
    expect(received.slice(before).some((r) => r.body && 'prompt_cache_key' in r.body)).toBe(false);
    await gw.cli(['agent', 'update', 'dep', '--prompt-cache', 'on']);
    await expect
      .poll(
        async () => {
          const n = received.length;
          await turn();
          return received.slice(n).find((r) => r.path.endsWith('/chat/completions'))?.body?.prompt_cache_key;
        },
        { timeout: 3000 },
      )
      .toBe('ibex:dep:v5');
    const n = received.length;
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', prompt_cache_key: 'mine', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.dump();
    expect(received.slice(n).find((r) => r.path.endsWith('/chat/completions'))?.body?.prompt_cache_key).toBe('mine');
  });
});
