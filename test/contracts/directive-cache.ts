// One behavioural suite for every DirectiveCache (memory, Redis).
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DirectiveCache } from '../../src/stores/memory/directive-cache.js';
import type { Directive } from '../../src/stores/ports.js';

export interface DirectiveCacheHarness {
  cache: DirectiveCache;
  close?: () => Promise<void> | void;
}

/** `currentTtlMs` must be honoured so expiry can be tested in a few hundred ms. */
export type DirectiveCacheFactory = (opts: { currentTtlMs: number }) => Promise<DirectiveCacheHarness> | DirectiveCacheHarness;

function directive(agent: string, version: number, text: string): Directive {
  return { agent, version, text, sha256: createHash('sha256').update(text).digest('hex'), createdAt: 1_700_000_000_000 + version };
}

export function directiveCacheContract(name: string, factory: DirectiveCacheFactory): void {
  describe(`DirectiveCache contract: ${name}`, () => {
    const opened: DirectiveCacheHarness[] = [];
    const open = async (currentTtlMs = 5000): Promise<DirectiveCache> => {
      const h = await factory({ currentTtlMs });
      opened.push(h);
      return h.cache;
    };
    const agent = (): string => `agent:${randomBytes(4).toString('hex')}`;

    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close?.();
    });

    it('answers null for what it has not seen', async () => {
      const cache = await open();
      const a = agent();
      expect(await cache.get(a, 1)).toBeNull();
      expect(await cache.getCurrent(a)).toBeNull();
    });

    it('returns a cached version exactly, keyed by agent and version', async () => {
      const cache = await open();
      const a = agent();
      const v1 = directive(a, 1, 'be brief');
      const v2 = directive(a, 2, 'be thorough ✓\nsecond line');
      await cache.set(v1);
      await cache.set(v2);
      expect(await cache.get(a, 1)).toEqual(v1);
      expect(await cache.get(a, 2)).toEqual(v2);
      expect(await cache.get(a, 3)).toBeNull();
      expect(await cache.get(`${a}x`, 1)).toBeNull();
    });

    it('keeps the highest current version and can forget it', async () => {
      const cache = await open();
      const a = agent();
      await cache.setCurrent(a, 2);
      expect(await cache.getCurrent(a)).toBe(2);
      await cache.setCurrent(a, 1); // a slow writer must not roll the cache back
      expect(await cache.getCurrent(a)).toBe(2);
      await cache.setCurrent(a, 3);
      expect(await cache.getCurrent(a)).toBe(3);
      await cache.invalidateCurrent(a);
      expect(await cache.getCurrent(a)).toBeNull();
      await cache.setCurrent(a, 1);
      expect(await cache.getCurrent(a)).toBe(1);
    });

    it('expires the current version after its TTL but keeps versions', async () => {
      const cache = await open(100);
      const a = agent();
      await cache.set(directive(a, 1, 'text'));
      await cache.setCurrent(a, 1);
      expect(await cache.getCurrent(a)).toBe(1);
      await new Promise((r) => setTimeout(r, 250));
      expect(await cache.getCurrent(a)).toBeNull();
      expect((await cache.get(a, 1))?.text).toBe('text');
    });
  });
}
