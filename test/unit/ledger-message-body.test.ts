import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { messageBody } from '../../src/ledger/message-body.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('messageBody', () => {
  it('addresses a message by the SHA-256 of its JSON text, the same on every turn', () => {
    const m = { role: 'user', content: 'hi "there" 🐐' };
    const first = messageBody(m);
    expect(first).toEqual({ hash: sha(JSON.stringify(m)), body: JSON.stringify(m), bytes: Buffer.byteLength(JSON.stringify(m)) });
    expect(messageBody({ ...m })).toEqual(first);
  });

  it('stays exact past the recent-hash bound, for long texts and after many distinct ones', () => {
    const long = { role: 'user', content: 'x'.repeat(20_000) };
    expect(messageBody(long).hash).toBe(sha(JSON.stringify(long)));
    expect(messageBody(long).hash).toBe(sha(JSON.stringify(long)));
    for (let i = 0; i < 3000; i++) {
      const m = { role: 'user', content: `message ${i}` };
      expect(messageBody(m).hash).toBe(sha(JSON.stringify(m)));
    }
    // An early one, evicted by now, is hashed again, to the same address.
    const m0 = { role: 'user', content: 'message 0' };
    expect(messageBody(m0).hash).toBe(sha(JSON.stringify(m0)));
  });
});
