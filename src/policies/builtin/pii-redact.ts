// pii-redact: replaces emails, phone numbers, card numbers (Luhn-checked) and API keys / tokens with
// `[REDACTED_<KIND>]`, in the request (before it leaves for the provider, and before it is stored) and/or
// the reply (non-streamed, or streamed with a bounded look-behind so a value split across chunks is
// still caught whole).
//   { use: pii-redact, on: [request, response], kinds: [email, phone, card, key] }
import type { Policy, PolicyFactory, PolicyState } from '../types.js';
import { PII_KINDS, redactPii, type PiiKind } from './pii/detect.js';
import { redactStep, type StreamRedactionState } from './pii/stream.js';
import { allowedKeys, sides } from './options.js';

const NAME = 'pii-redact';

function describeCounts(counts: Partial<Record<PiiKind, number>>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

export const piiRedact: PolicyFactory = (options) => {
  allowedKeys(NAME, options, ['on', 'kinds']);
  const on = sides(NAME, options, ['request', 'response'] as const);
  const kinds = sides(NAME, options, PII_KINDS, 'kinds');
  const policy: { -readonly [K in keyof Policy]: Policy[K] } = { name: NAME };

  if (on.has('request')) {
    policy.onRequest = (req) => {
      const total: Partial<Record<PiiKind, number>> = {};
      for (const m of req.messages) {
        const { counts } = redactPii(m.text, kinds);
        for (const [k, n] of Object.entries(counts)) total[k as PiiKind] = (total[k as PiiKind] ?? 0) + n;
      }
      if (Object.keys(total).length === 0) return { action: 'pass' };
      return { action: 'modify', mapText: (t) => redactPii(t, kinds).text, note: `redacted ${describeCounts(total)}` };
    };
  }

  if (on.has('response')) {
    policy.onChunk = (chunk, state: PolicyState) => {
      if (chunk.kind !== 'text') return { action: 'pass' };
      const per = (state.outputs ??= new Map<number, StreamRedactionState>()) as Map<number, StreamRedactionState>;
      let st = per.get(chunk.index);
      if (!st) per.set(chunk.index, (st = { context: '' }));
      const step = redactStep(st, chunk.text, kinds, chunk.final === true);
      if (step.emit === chunk.text && step.hold === '') return { action: 'pass' };
      return { action: 'replace', text: step.emit, hold: step.hold, ...(step.redacted ? { note: `redacted ${step.redacted} value(s) in the stream` } : { note: 'held back a possible PII tail' }) };
    };
    policy.onResponse = (res) => {
      if (res.text === null) return { action: 'pass' };
      const { counts } = redactPii(res.text, kinds);
      if (Object.keys(counts).length === 0) return { action: 'pass' };
      return { action: 'modify', mapText: (t) => redactPii(t, kinds).text, note: `redacted ${describeCounts(counts)}` };
    };
  }
  return policy;
};
