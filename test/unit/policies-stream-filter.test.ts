import { describe, expect, it } from 'vitest';
import { createStreamFilter } from '../../src/policies/stream/index.js';
import { denyPatterns } from '../../src/policies/builtin/deny-patterns.js';
import { streamErrorEvent as chatError } from '../../src/protocols/openai-chat/errors.js';
import { openAIResponses } from '../../src/protocols/openai-responses/protocol.js';
import { streamErrorEvent as anthropicError } from '../../src/protocols/anthropic-messages/errors.js';
import type { Policy } from '../../src/policies/types.js';
import type { SentEvents } from '../../src/protocols/types.js';

const err = (m: string) => ({ status: 400, code: 'policy_violation', type: 'invalid_request_error', message: m, param: null });

const streams: Record<string, { error: (m: string, sent: SentEvents) => string; events: (deltas: string[]) => string; done: string }> = {
  'openai-chat': {
    error: (m) => chatError(err(m)),
    events: (d) => d.map((t) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`).join('') + 'data: [DONE]\n\n',
    done: '[DONE]',
  },
  'openai-responses': {
    error: (m, sent) => openAIResponses.streamErrorEvent(err(m), sent),
    events: (d) =>
      d.map((t, i) => `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: t, sequence_number: i })}\n\n`).join('') +
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { output: [] }, sequence_number: d.length })}\n\n`,
    done: 'response.completed',
  },
  'anthropic-messages': {
    error: (m) => anthropicError(err(m)),
    events: (d) =>
      d.map((t) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}\n\n`).join('') +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    done: 'message_stop',
  },
};

async function filterAll(protocol: string, policy: Policy, deltas: string[]): Promise<{ out: string; decisions: string[] }> {
  const s = streams[protocol]!;
  const decisions: string[] = [];
  const f = createStreamFilter({ protocol, policies: [{ policy, state: {} }], errorEvent: s.error, record: (p, a, d) => decisions.push(`${p} ${a} ${d}`) })!;
  const bytes = Buffer.from(s.events(deltas));
  let out = '';
  // 5-byte pieces: events are always split mid-line
  for (let i = 0; i < bytes.length; i += 5) out += (await f(bytes.subarray(i, i + 5)))?.toString() ?? '';
  return { out, decisions };
}

describe('stream filter per protocol', () => {
  for (const protocol of Object.keys(streams)) {
    it(`${protocol}: a denied phrase split across deltas stops the stream with the protocol's error event`, async () => {
      const policy = await denyPatterns({ phrases: ['launch code'] }, { baseDir: '.' });
      const { out, decisions } = await filterAll(protocol, policy, ['the laun', 'ch code is', ' 1234', ' more']);
      expect(out).toContain('the laun');
      expect(out).toContain('policy_violation');
      expect(out).not.toContain(' 1234');
      expect(out).not.toContain(streams[protocol]!.done);
      expect(decisions).toEqual(['deny-patterns stop the text matches denied pattern #1']);
    });

    it(`${protocol}: a clean stream passes byte for byte`, async () => {
      const policy = await denyPatterns({ phrases: ['launch code'] }, { baseDir: '.' });
      const { out } = await filterAll(protocol, policy, ['hello ', 'world']);
      expect(out).toBe(streams[protocol]!.events(['hello ', 'world']));
    });
  }

  it('openai-responses: the stop\'s error event is numbered after every event read (sequence_number strictly increases)', async () => {
    const policy = await denyPatterns({ phrases: ['launch code'] }, { baseDir: '.' });
    const { out } = await filterAll('openai-responses', policy, ['the laun', 'ch code is', ' 1234', ' more']);
    const numbers = out
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => (JSON.parse(l.slice(6)) as { sequence_number: number }).sequence_number);
    const error = JSON.parse(out.split('\n').find((l) => l.includes('policy_violation'))!.slice(6)) as { type: string; sequence_number: number };
    expect(error.type).toBe('error');
    // deltas 0 and 1 were read (the second completes the phrase and stops the stream): the error is 2
    expect(error.sequence_number).toBe(2);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('null when no policy has onChunk (no cost on the stream)', () => {
    expect(createStreamFilter({ protocol: 'openai-chat', policies: [{ policy: { name: 'x', onRequest: () => ({ action: 'pass' }) }, state: {} }], errorEvent: () => '', record: () => {} })).toBeNull();
  });
});
