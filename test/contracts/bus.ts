// One behavioural suite every Bus adapter must pass (memory, Redis), so they cannot drift.
// Delivery may be asynchronous (Redis), so tests wait for it, and prove that something did NOT
// arrive by publishing a sentinel afterwards on the same topic and waiting for that instead.
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/stores/ports.js';

export interface BusHarness {
  bus: Bus;
  close?: () => Promise<void> | void;
}

export type BusFactory = () => Promise<BusHarness> | BusHarness;

export function busContract(name: string, factory: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    const opened: BusHarness[] = [];
    const open = async (): Promise<Bus> => {
      const h = await factory();
      opened.push(h);
      return h.bus;
    };

    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close?.();
    });

    it('delivers a published message to a subscriber, JSON payload intact', async () => {
      const bus = await open();
      const got: unknown[] = [];
      bus.subscribe('directive', (m) => got.push(m));
      const payload = { agent: 'ägent ✓', version: 3, nested: { list: [1, 'two', null, true, { deep: 1.5 }] }, empty: {} };
      await bus.publish('directive', payload);
      await waitFor(() => got.length === 1, 'delivery');
      expect(got[0]).toEqual(payload);
      // subscribers receive decoded data, not the publisher's live object
      expect(got[0]).not.toBe(payload);
    });

    it('delivers to every subscriber of the topic, and only that topic', async () => {
      const bus = await open();
      const first: unknown[] = [];
      const second: unknown[] = [];
      const other: unknown[] = [];
      bus.subscribe('revocation', (m) => first.push(m));
      bus.subscribe('revocation', (m) => second.push(m));
      bus.subscribe('trace', (m) => other.push(m));
      await bus.publish('revocation', { seq: 1 });
      await bus.publish('trace', 'sentinel');
      await waitFor(() => first.length === 1 && second.length === 1 && other.length === 1, 'both subscribers and the sentinel');
      expect(first).toEqual([{ seq: 1 }]);
      expect(second).toEqual([{ seq: 1 }]);
      expect(other).toEqual(['sentinel']);
    });

    it('stops delivering after unsubscribe', async () => {
      const bus = await open();
      const gone: unknown[] = [];
      const stays: unknown[] = [];
      const unsubscribe = bus.subscribe('pat-created', (m) => gone.push(m));
      bus.subscribe('pat-created', (m) => stays.push(m));
      await bus.publish('pat-created', 'before');
      await waitFor(() => gone.length === 1 && stays.length === 1, 'first delivery');
      unsubscribe();
      unsubscribe(); // idempotent
      await bus.publish('pat-created', 'after');
      await waitFor(() => stays.length === 2, 'delivery to the remaining subscriber');
      expect(gone).toEqual(['before']);
      expect(stays).toEqual(['before', 'after']);
    });

    it('resubscribing after the last unsubscribe works', async () => {
      const bus = await open();
      const got: unknown[] = [];
      bus.subscribe('trace', () => {})();
      bus.subscribe('trace', (m) => got.push(m));
      await bus.publish('trace', 42);
      await waitFor(() => got.length === 1, 'delivery after resubscribe');
      expect(got).toEqual([42]);
    });

    it('delivers each message exactly once, in order', async () => {
      const bus = await open();
      const got: unknown[] = [];
      bus.subscribe('trace', (m) => got.push(m));
      for (const n of [1, 2, 3]) await bus.publish('trace', { n });
      await bus.publish('trace', 'sentinel');
      await waitFor(() => got.includes('sentinel'), 'the sentinel');
      await new Promise((r) => setTimeout(r, 50)); // a late duplicate would land here
      expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, 'sentinel']);
    });

    it('keeps delivering to other subscribers when a handler throws', async () => {
      const bus = await open();
      const got: unknown[] = [];
      bus.subscribe('directive', () => {
        throw new Error('handler bug');
      });
      bus.subscribe('directive', (m) => got.push(m));
      await expect(bus.publish('directive', 'x')).resolves.toBeUndefined();
      await bus.publish('directive', 'y');
      await waitFor(() => got.length === 2, 'delivery past a throwing handler');
      expect(got).toEqual(['x', 'y']);
    });

    it('rejects a message that is not JSON-serialisable', async () => {
      const bus = await open();
      bus.subscribe('trace', () => {});
      await expect(bus.publish('trace', () => 1)).rejects.toThrow(/JSON/);
    });
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
