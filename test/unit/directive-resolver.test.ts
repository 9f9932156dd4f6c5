import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectiveResolver, type ServedDirective } from '../../src/directives/resolver.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import { MemoryDirectiveCache } from '../../src/stores/memory/directive-cache.js';
import { placeDirective } from '../../src/protocols/openai-chat/directive.js';
import type { RelationalStores } from '../../src/stores/relational.js';

type R = ServedDirective | null | Promise<ServedDirective | null>;
const sync = (r: R): ServedDirective | null => {
  if (r instanceof Promise) throw new Error('expected a synchronous answer');
  return r;
};
const text = (r: R) => sync(r)?.directive.text;
const version = (r: R) => sync(r)?.directive.version;

describe('DirectiveResolver', () => {
  let dir: string;
  let stores: RelationalStores;
  let bus: MemoryBus;
  const resolvers: DirectiveResolver[] = [];
  const make = (opts: Partial<ConstructorParameters<typeof DirectiveResolver>[0]> = {}) => {
    const r = new DirectiveResolver({ store: stores.directives, bus, pollIntervalMs: 60_000, ...opts });
    r.start();
    resolvers.push(r);
    return r;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-resolver-'));
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

  it('reads the store once per agent, then answers from memory (also "no directive")', async () => {
    const spy = vi.spyOn(stores.directives, 'deployState');
    const r = make();
    expect(await r.resolve('a')).toBeNull();
    expect(r.resolve('a')).toBeNull(); // synchronous now
    await stores.directives.append('a', 'v1');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('a pushed version is used at once; a version written elsewhere is found by the poll', async () => {
    const r = make({ pollIntervalMs: 100 });
    await stores.directives.append('a', 'v1');
    expect((await r.resolve('a'))?.directive.text).toBe('v1');
    const v2 = await stores.directives.append('a', 'v2');
    await bus.publish('directive', { agent: 'a', version: v2.version });
    await vi.waitFor(() => expect(text(r.resolve('a'))).toBe('v2'), { timeout: 500 });
    // no push this time: only the poll can see it
    await stores.directives.append('a', 'v3');
    await vi.waitFor(() => expect(text(r.resolve('a'))).toBe('v3'), { timeout: 1000, interval: 20 });
  });

  it('never goes back to an older version when a stale push arrives', async () => {
    const r = make();
    await stores.directives.append('a', 'v1');
    const v2 = await stores.directives.append('a', 'v2');
    expect((await r.resolve('a'))?.directive.version).toBe(v2.version);
    await bus.publish('directive', { agent: 'a', version: 1 });
    await new Promise((res) => setTimeout(res, 20));
    expect(version(r.resolve('a'))).toBe(2);
  });

  it('a shared cache (another replica already loaded it) spares the store', async () => {
    const d = await stores.directives.append('a', 'shared text');
    const shared = new MemoryDirectiveCache();
    const first = make({ shared });
    expect((await first.resolve('a'))?.directive.text).toBe('shared text');
    const current = vi.spyOn(stores.directives, 'current');
    const get = vi.spyOn(stores.directives, 'get');
    const second = make({ shared });
    expect((await second.resolve('a'))?.directive).toEqual(d);
    expect(current).not.toHaveBeenCalled();
    expect(get).not.toHaveBeenCalled();
  });

  it('injection puts the directive first and leaves the caller messages as they were', () => {
    const msgs = [{ role: 'system', content: 'mine' }, { role: 'user', content: [{ type: 'text', text: 'x' }] }];
    const out = placeDirective({ model: 'm', messages: msgs }, 'D').messages;
    expect(out).toEqual([{ role: 'system', content: 'D' }, ...msgs]);
    expect(out[1]).toBe(msgs[0]);
    expect(placeDirective({ model: 'm', messages: msgs }, null).messages).toBe(msgs);
  });
});
