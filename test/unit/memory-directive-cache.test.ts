import { expect, it } from 'vitest';
import { MemoryDirectiveCache } from '../../src/stores/memory/directive-cache.js';
import { directiveCacheContract } from '../contracts/directive-cache.js';

directiveCacheContract('memory', ({ currentTtlMs }) => ({ cache: new MemoryDirectiveCache({ currentTtlMs }) }));

it('MemoryDirectiveCache evicts least recently used versions beyond its bound', async () => {
  const cache = new MemoryDirectiveCache({ maxVersions: 2 });
  const d = (version: number) => ({ agent: 'a', version, text: `t${version}`, sha256: 'x', createdAt: 0 });
  await cache.set(d(1));
  await cache.set(d(2));
  await cache.get('a', 1); // 1 is now more recent than 2
  await cache.set(d(3));
  expect(await cache.get('a', 2)).toBeNull();
  expect((await cache.get('a', 1))?.text).toBe('t1');
  expect((await cache.get('a', 3))?.text).toBe('t3');
});
