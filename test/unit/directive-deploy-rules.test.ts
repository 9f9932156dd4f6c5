// The rules of issue 15: which version a request is served, by session, canary and rollout.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectiveResolver, type ServedDirective } from '../../src/directives/resolver.js';
import { inCanary, sessionBucket } from '../../src/directives/split.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import type { RelationalStores } from '../../src/stores/relational.js';

describe('canary split by session bucket', () => {
  it('is a pure function of the id, 0–99, every bucket used', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const b = sessionBucket(`s-${i}`);
      expect(b).toBe(sessionBucket(`s-${i}`));
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      seen.add(b);
    }
    expect(seen.size).toBe(100);
  });

  for (const [label, ids] of [
    ['numbered ids', (i: number) => `s-${i}`],
    ['generated ids', () => 'ses_' + randomUUID().replaceAll('-', '')],
  ] as const) {
    it(`serves PCT % ± 5 of 1,000 sessions (${label})`, () => {
      for (const pct of [10, 50, 90]) {
        let n = 0;
        for (let i = 0; i < 1000; i++) if (inCanary(ids(i), pct)) n++;
        expect(Math.abs(n / 10 - pct)).toBeLessThanOrEqual(5);
      }
    });
  }

  it('raising the percent keeps every session that was already in the canary', () => {
    for (let i = 0; i < 1000; i++) if (inCanary(`s-${i}`, 10)) expect(inCanary(`s-${i}`, 20)).toBe(true);
  });
});

describe('DirectiveResolver deploy rules', () => {
  let dir: string;
  let stores: RelationalStores;
  let bus: MemoryBus;
  const resolvers: DirectiveResolver[] = [];
  /** A resolver as on a fresh replica: nothing remembered */
  const replica = () => {
    const r = new DirectiveResolver({ store: stores.directives, bus, pollIntervalMs: 60_000 });
    r.start();
    resolvers.push(r);
    return r;
  };
  const v = async (r: DirectiveResolver, session: string, isNew = false) => (await r.resolve('a', session, isNew))?.directive.version;
  /** Records `session`'s first checkpoint with `version` (what the write-behind queue does after a reply). */
  let n = 0;
  const checkpoint = (session: string, version: number) =>
    stores.sessions.appendCheckpoints([
      {
        sessionId: session,
        agent: 'a',
        patId: 'p',
        requestId: `r${++n}`,
        clientRequestId: null,
        model: 'm',
        directiveVersion: version,
        messages: [],
        reply: null,
        finishReason: null,
        usage: null, costUsd: null,
        status: 'ok',
        errorCode: null,
        stream: false,
        createdAt: Date.now() + n,
      },
    ]);
  /** Ids on each side of a 50 % canary */
  const side = (canary: boolean) => Array.from({ length: 100 }, (_, i) => `id-${i}`).find((id) => inCanary(id, 50) === canary)!;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-deploy-'));
    stores = await openSqliteStores(join(dir, 'ibex.db'));
    await stores.migrate();
    await stores.agents.create({ name: 'a' });
    bus = new MemoryBus();
  });
  afterEach(async () => {
    for (const r of resolvers.splice(0)) r.stop();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a session keeps the version it started with, on every replica; new sessions get the new one', async () => {
    await stores.directives.append('a', 'v1');
    const r = replica();
    expect(await v(r, 'old', true)).toBe(1);
    await checkpoint('old', 1);
    await stores.directives.append('a', 'v2');
    await bus.publish('directive', { agent: 'a' });
    await vi.waitFor(async () => expect(await v(r, 'fresh', true)).toBe(2));
    expect(await v(r, 'old')).toBe(1); // this replica remembers
    expect(await v(replica(), 'old')).toBe(1); // another replica reads it from the store
    expect(await v(replica(), 'named-new')).toBe(2); // a named id with nothing recorded: a new session
  });

  it('reads a session\'s start version once per process, and not at all while only one version exists', async () => {
    await stores.directives.append('a', 'v1');
    const spy = vi.spyOn(stores.directives, 'sessionVersion');
    const r = replica();
    expect(await v(r, 's1')).toBe(1);
    expect(spy).not.toHaveBeenCalled();
    await checkpoint('s1', 1);
    await stores.directives.append('a', 'v2');
    const r2 = replica();
    expect(await v(r2, 's1')).toBe(1);
    expect(r2.resolve('a', 's1', false)).toMatchObject({ directive: { version: 1 } }); // synchronous: remembered
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('--rollout all-sessions moves started sessions, and a later normal set does not send them back', async () => {
    await stores.directives.append('a', 'v1');
    await checkpoint('old', 1);
    await stores.directives.append('a', 'v2');
    expect(await v(replica(), 'old')).toBe(1);
    await stores.directives.deploy('a', 'v3', { rollout: 'all-sessions' });
    expect(await v(replica(), 'old')).toBe(3);
    await stores.directives.deploy('a', 'v4');
    expect(await v(replica(), 'old')).toBe(3);
    expect(await v(replica(), 'new', true)).toBe(4);
  });

  it('a canary serves its bucket of new sessions, sticky; promote and abort end it', async () => {
    await stores.directives.append('a', 'stable');
    await checkpoint('before', 1);
    await stores.directives.deploy('a', 'canary', { canary: 50 });
    const r = replica();
    const inside = side(true);
    const outside = side(false);
    expect(await v(r, inside, true)).toBe(2);
    expect(await v(r, outside, true)).toBe(1);
    expect(await v(r, 'before')).toBe(1);
    // the first checkpoint is not written yet: another replica still picks the same side
    expect(await v(replica(), inside)).toBe(2);
    await checkpoint(inside, 2);
    await checkpoint(outside, 1);

    await stores.directives.promote('a');
    const p = replica();
    expect(await v(p, outside)).toBe(1); // started on stable: keeps it
    expect(await v(p, inside)).toBe(2);
    expect(await v(p, outside + '-new', true)).toBe(2);

    await stores.directives.deploy('a', 'bad', { canary: 50 });
    await checkpoint(`${inside}-bad`, 3);
    await stores.directives.abort('a');
    const q = replica();
    const back = await q.resolve('a', 'after-abort', true);
    expect(back?.directive).toMatchObject({ version: 4, text: 'canary' }); // the stable text, as a new version
    expect(await v(q, `${inside}-bad`)).toBe(3); // sticky, unless the rollout moves all sessions
  });

  it('a canary rolled out to all sessions splits started sessions by bucket too', async () => {
    await stores.directives.append('a', 'v1');
    const inside = side(true);
    const outside = side(false);
    await checkpoint(inside, 1);
    await checkpoint(outside, 1);
    await stores.directives.deploy('a', 'v2', { canary: 50, rollout: 'all-sessions' });
    const r = replica();
    expect(await v(r, inside)).toBe(2);
    expect(await v(r, outside)).toBe(1);
    await stores.directives.promote('a');
    expect(await v(replica(), outside)).toBe(2);
  });

  it('when the start version cannot be read, serves as to a new session instead of failing', async () => {
    await stores.directives.append('a', 'v1');
    await stores.directives.append('a', 'v2');
    const r = replica();
    await r.resolve('a', 'x', true);
    vi.spyOn(stores.directives, 'sessionVersion').mockRejectedValue(new Error('down'));
    expect(await v(r, 'unknown-to-this-process')).toBe(2);
  });

  it('carries the agent\'s prompt-cache switch', async () => {
    await stores.directives.append('a', 'v1');
    expect((await replica().resolve('a', 's', true)) as ServedDirective).toMatchObject({ promptCache: false });
    await stores.directives.setPromptCache('a', true);
    expect((await replica().resolve('a', 's', true)) as ServedDirective).toMatchObject({ promptCache: true });
  });
});
