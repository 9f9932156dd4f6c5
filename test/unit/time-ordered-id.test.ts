import { describe, expect, it } from 'vitest';
import { timeOrderedHex32, uuidV7 } from '../../src/util/time-ordered-id.js';
import { newSessionId } from '../../src/pipeline/handle.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix ms a UUIDv7 carries in its first 48 bits. */
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('time-ordered ids', () => {
  it('uuidV7 is an RFC 9562 version-7 UUID carrying the current millisecond', () => {
    const before = Date.now();
    const id = uuidV7();
    const after = Date.now();
    expect(id).toMatch(UUID_V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  it('ids are unique across many pool refills, and their random part varies in every position', () => {
    const ids = Array.from({ length: 20_000 }, uuidV7);
    expect(new Set(ids).size).toBe(ids.length);
    // The 74 random bits: every hex position after the time must take more than one value.
    const tails = ids.map((id) => id.slice(15).replaceAll('-', ''));
    for (let p = 0; p < tails[0]!.length; p++) {
      expect(new Set(tails.map((t) => t[p])).size, `position ${p}`).toBeGreaterThan(1);
    }
  });

  it('ids made in a later millisecond sort after earlier ones (they append to an index)', async () => {
    const first = uuidV7();
    const firstHex = timeOrderedHex32();
    await new Promise((r) => setTimeout(r, 3));
    expect(uuidV7() > first).toBe(true);
    expect(timeOrderedHex32() > firstHex).toBe(true);
  });

  it('a session id is ses_ and 32 hex digits, time first', () => {
    const before = Date.now();
    const id = newSessionId();
    expect(id).toMatch(/^ses_[0-9a-f]{32}$/);
    expect(parseInt(id.slice(4, 16), 16)).toBeGreaterThanOrEqual(before);
    const ids = new Set(Array.from({ length: 5000 }, newSessionId));
    expect(ids.size).toBe(5000);
  });
});
