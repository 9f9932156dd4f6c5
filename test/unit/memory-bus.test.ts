import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import { openMemoryBackends } from '../../src/stores/memory/index.js';
import { busContract } from '../contracts/bus.js';

busContract('memory', () => {
  const bus = new MemoryBus();
  return { bus, close: () => bus.close() };
});

describe('MemoryBus specifics', () => {
  it('has delivered to every subscriber by the time publish resolves', async () => {
    const bus = new MemoryBus();
    const got: unknown[] = [];
    bus.subscribe('trace', (m) => got.push(m));
    await bus.publish('trace', { a: 1 });
    expect(got).toEqual([{ a: 1 }]);
  });

  it('reports a throwing handler to onError with its topic', async () => {
    const errors: string[] = [];
    const bus = new MemoryBus({ onError: (err, topic) => errors.push(`${topic}: ${err.message}`) });
    bus.subscribe('revocation', () => {
      throw new Error('boom');
    });
    await bus.publish('revocation', 1);
    expect(errors).toEqual(['revocation: boom']);
  });
});

describe('openMemoryBackends', () => {
  it('describes its choices and says limits are per process', async () => {
    const backends = await openMemoryBackends();
    expect(backends.describe()).toEqual(expect.arrayContaining(['rate limits: in-process (per process)', 'bus: in-process']));
    expect(await backends.ready()).toEqual([]);
    expect((await backends.rateLimiter.hit('k', 1, 1000)).allowed).toBe(true);
    await backends.directiveCache.setCurrent('a', 1);
    expect(await backends.directiveCache.getCurrent('a')).toBe(1);
    await backends.close();
  });
});
