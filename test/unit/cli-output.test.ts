// The one JSON time format of the CLI.
import { describe, expect, it } from 'vitest';
import { isoTime, isoTimes } from '../../src/cli/output.js';

describe('isoTimes', () => {
  it('turns the numeric …At fields of a record (or of each record) into ISO 8601, and nothing else', () => {
    const t = Date.UTC(2025, 0, 31, 12, 0, 0);
    const rec = { id: 'x', createdAt: t, expiresAt: null, revokedAt: 'already', totalMs: 12, messages: [{ createdAt: 5 }] };
    expect(isoTimes(rec)).toEqual({ id: 'x', createdAt: '2025-01-31T12:00:00.000Z', expiresAt: null, revokedAt: 'already', totalMs: 12, messages: [{ createdAt: 5 }] });
    expect(isoTimes([rec, { updatedAt: t }])[1]).toEqual({ updatedAt: '2025-01-31T12:00:00.000Z' });
    expect(rec.createdAt).toBe(t); // a copy
  });
  it('a value outside the Date range does not throw', () => {
    expect(isoTime(8.64e15 + 1)).toBe(String(8.64e15 + 1));
  });
});
