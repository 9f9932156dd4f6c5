import { describe, expect, it } from 'vitest';
import { findPii, luhnValid, PII_KINDS, redactPii } from '../../src/policies/builtin/pii/detect.js';
import { piiRedact } from '../../src/policies/builtin/pii-redact.js';
import { createStreamFilter } from '../../src/policies/stream/index.js';
import { parseChatSse } from '../../src/protocols/openai-chat/reassemble.js';
import type { Policy } from '../../src/policies/types.js';

const ALL = new Set(PII_KINDS);

describe('PII detectors', () => {
  it('Luhn: valid card numbers pass, one changed digit fails', () => {
    expect(luhnValid('4111 1111 1111 1111')).toBe(true);
    expect(luhnValid('5555-5555-5555-4444')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111 1111 1111 1112')).toBe(false);
    expect(luhnValid('1234')).toBe(false);
  });

  it('redacts emails, phones, Luhn-valid cards and keys; leaves look-alikes', () => {
    const text =
      'Mail bob.smith+x@example.co.uk or call +1 415 555 0100 / (415) 555-0199. Card 4111 1111 1111 1111, ' +
      'not 4111 1111 1111 1112. Key sk-proj-abcdefghijklmnopqrstuvwx and ghp_abcdefghijklmnopqrstuvwxyz0123456789. Order 12345.';
    const r = redactPii(text, ALL);
    expect(r.text).toBe(
      'Mail [REDACTED_EMAIL] or call [REDACTED_PHONE] / [REDACTED_PHONE]. Card [REDACTED_CARD], ' +
        'not 4111 1111 1111 1112. Key [REDACTED_KEY] and [REDACTED_KEY]. Order 12345.',
    );
    expect(r.counts).toEqual({ email: 1, phone: 2, card: 1, key: 2 });
  });

  it('kinds narrow what is redacted', () => {
    expect(redactPii('a@b.io 4111111111111111', new Set(['card'] as const)).text).toBe('a@b.io [REDACTED_CARD]');
    expect(findPii('x@y.org', new Set(['phone'] as const))).toEqual([]);
  });
});

/** A chat SSE stream of `text` as content deltas, split into the given byte pieces. */
function chatStream(deltas: string[]): string {
  const ev = (o: object) => `data: ${JSON.stringify(o)}\n\n`;
  return (
    ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }) +
    deltas.map((d) => ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: d } }] })).join('') +
    ev({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
    'data: [DONE]\n\n'
  );
}

async function runFilter(policy: Policy, deltas: string[], byteSplit?: number[]): Promise<string> {
  const filter = createStreamFilter({
    protocol: 'openai-chat',
    policies: [{ policy, state: {} }],
    errorEvent: (m) => `data: {"error":{"message":${JSON.stringify(m)}}}\n\n`,
    record: () => {},
  })!;
  const bytes = Buffer.from(chatStream(deltas));
  const cuts = byteSplit ?? [];
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    const r = await filter(bytes.subarray(at, c));
    if (r) out.push(r);
    at = c;
  }
  return Buffer.concat(out).toString('utf8');
}

describe('pii-redact on a stream', () => {
  const text = 'Hi, write to jane.doe@example.com, card 4242 4242 4242 4242, phone +44 20 7946 0958, token sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUV. Bye';
  const expected = redactPii(text, ALL).text;
  it('the expected text has every value redacted', () => expect(expected.match(/REDACTED_/g)).toHaveLength(4));

  it('redacts a value split across deltas at every position (two and three pieces)', async () => {
    const policy = await piiRedact({ on: ['response'] }, { baseDir: '.' });
    for (let i = 1; i < text.length; i++) {
      const out = await runFilter(policy, [text.slice(0, i), text.slice(i)]);
      const facts = parseChatSse(out);
      expect(facts.text, `split at ${i}`).toBe(expected);
      expect(facts.completed).toBe(true);
    }
    for (let i = 1; i < text.length; i += 3) {
      for (let j = i + 1; j < text.length; j += 5) {
        const out = await runFilter(policy, [text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(parseChatSse(out).text, `split at ${i},${j}`).toBe(expected);
      }
    }
  });

  it('redacts one character per delta, and with the SSE bytes cut anywhere', async () => {
    const policy = await piiRedact({}, { baseDir: '.' });
    expect(parseChatSse(await runFilter(policy, [...text])).text).toBe(expected);
    const raw = Buffer.from(chatStream([text.slice(0, 30), text.slice(30)]));
    for (let c = 1; c < raw.length; c += 7) {
      expect(parseChatSse(await runFilter(policy, [text.slice(0, 30), text.slice(30)], [c])).text).toBe(expected);
    }
  });

  it('holds back only a bounded tail: text far from any PII is forwarded at once', async () => {
    const policy = await piiRedact({}, { baseDir: '.' });
    const filter = createStreamFilter({ protocol: 'openai-chat', policies: [{ policy, state: {} }], errorEvent: () => '', record: () => {} })!;
    const long = 'lorem ipsum '.repeat(100);
    const first = await filter(Buffer.from(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: long } }] })}\n\n`));
    const sent = parseChatSse(first!.toString()).text!;
    expect(sent.length).toBeGreaterThan(long.length - 300);
    expect(long.startsWith(sent)).toBe(true);
  });
});
