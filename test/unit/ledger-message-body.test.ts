import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointMessageTexts, messageBody, messageText } from '../../src/ledger/message-body.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('messageBody', () => {
  it('addresses a message by the SHA-256 of its JSON text, the same on every turn', () => {
    const m = { role: 'user', content: 'hi "there" 🐐' };
    const first = messageBody(messageText(m));
    expect(first).toEqual({ hash: sha(JSON.stringify(m)), body: JSON.stringify(m), bytes: Buffer.byteLength(JSON.stringify(m)) });
    expect(messageBody(messageText({ ...m }))).toEqual(first);
  });

  it('stays exact past the recent-hash bound, for long texts and after many distinct ones', () => {
    const long = { role: 'user', content: 'x'.repeat(20_000) };
    expect(messageBody(messageText(long)).hash).toBe(sha(JSON.stringify(long)));
    expect(messageBody(messageText(long)).hash).toBe(sha(JSON.stringify(long)));
    for (let i = 0; i < 3000; i++) {
      const m = { role: 'user', content: `message ${i}` };
      expect(messageBody(messageText(m)).hash).toBe(sha(JSON.stringify(m)));
    }
    // An early one, evicted by now, is hashed again, to the same address.
    const m0 = { role: 'user', content: 'message 0' };
    expect(messageBody(messageText(m0)).hash).toBe(sha(JSON.stringify(m0)));
  });

  it("takes a checkpoint's texts from the recorder, else makes them from its messages", () => {
    const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi\u0000' }];
    const made = checkpointMessageTexts({ messages });
    expect(made).toEqual(messages.map(messageText));
    // A recorder's texts are taken as they are (the store does not serialise the messages again).
    expect(checkpointMessageTexts({ messages, messageTexts: ['"a"', '"b"'] })).toEqual(['"a"', '"b"']);
    expect(checkpointMessageTexts({ messages: [] })).toEqual([]);
  });
});
