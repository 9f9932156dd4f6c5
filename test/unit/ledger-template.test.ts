import { describe, expect, it } from 'vitest';
import { buildTemplate, inflateTemplate } from '../../src/ledger/upstream-template.js';
import { messageText } from '../../src/ledger/message-body.js';
import { recordContent } from '../../src/ledger/content-mode.js';
import { redactText } from '../../src/ledger/redact.js';
import { replayRequest, sentBody } from '../../src/ledger/replay.js';
import { exportLine } from '../../src/ledger/export-format.js';
import type { Checkpoint } from '../../src/stores/ports.js';

const roundTrip = (body: object, messages: unknown[]) => {
  const sent = JSON.stringify(body);
  const bodies = messages.map(messageText);
  const t = buildTemplate(sent, bodies);
  return { sent, t, back: inflateTemplate(t, bodies) };
};

describe('upstream body templates', () => {
  it('chat: the messages array becomes one marker; inflating gives the exact bytes', () => {
    const messages = [
      { role: 'system', content: 'D' },
      { role: 'user', content: 'hi "there" \u2028 🐐', name: 'x' },
    ];
    const { sent, t, back } = roundTrip({ model: 'm', messages, temperature: 0.2, tools: [{ type: 'function' }] }, messages);
    expect(back).toBe(sent);
    expect(t).toBe('{"model":"m","messages":[\u0001*0\u0001],"temperature":0.2,"tools":[{"type":"function"}]}');
  });

  it('responses: instructions and a string input are references to the recorded items', () => {
    const body = { model: 'm', instructions: 'D\n\nmine', input: 'question', store: false };
    const messages = [
      { role: 'system', content: 'D\n\nmine' },
      { type: 'message', role: 'user', content: 'question' },
    ];
    const { sent, t, back } = roundTrip(body, messages);
    expect(back).toBe(sent);
    expect(t).not.toContain('question');
    expect(t).not.toContain('mine');
  });

  it('responses: an input array after the instructions item', () => {
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }] }];
    const { sent, t, back } = roundTrip({ model: 'm', input, instructions: 'D' }, [{ role: 'system', content: 'D' }, ...input]);
    expect(back).toBe(sent);
    expect(t).toBe('{"model":"m","input":[\u0001*1\u0001],"instructions":\u0001c0\u0001}');
  });

  it('the last place the whole run stands is referenced, not a place where only its head matches', () => {
    const messages = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }];
    const texts = messages.map(messageText);
    // The run twice (a caller's copy in metadata after it): the last one, as a search for the joined array finds
    const twice = JSON.stringify({ messages, metadata: { copy: messages } });
    const t = buildTemplate(twice, texts);
    expect(t).toBe(`{"messages":${JSON.stringify(messages)},"metadata":{"copy":[\u0001*0\u0001]}}`);
    expect(inflateTemplate(t, texts)).toBe(twice);
    // Later places where the first message stands but the run does not go on: the full run is found before them
    const heads = JSON.stringify({ messages, other: [messages[0]], third: [messages[0], { role: 'assistant', content: 'c' }] });
    const h = buildTemplate(heads, texts);
    expect(h.startsWith('{"messages":[\u0001*0\u0001],"other":')).toBe(true);
    expect(inflateTemplate(h, texts)).toBe(heads);
    // A long history (messages longer than the searched head) round-trips
    const long = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} ` + 'x"\n'.repeat(200) }));
    const { sent, t: lt, back } = roundTrip({ model: 'm', messages: long, stream: true }, long);
    expect(lt).toBe('{"model":"m","messages":[\u0001*0\u0001],"stream":true}');
    expect(back).toBe(sent);
  });

  it('keeps the whole body when the messages cannot be found in it (correct, not deduplicated)', () => {
    const { sent, t } = roundTrip({ model: 'm', prompt: 'x' }, [{ role: 'user', content: 'not there' }]);
    expect(t).toBe(sent);
  });

  it('keeps the whole body when it holds a raw U+0001 that inflating would mistake for a marker', () => {
    const bodies = [messageText({ role: 'user', content: 'a' })];
    const sent = `{"messages":[${bodies[0]}],"note":"\u0001*0\u0001"}`;
    expect(sent).toContain('\u0001'); // raw, not the escaped form JSON.stringify writes
    expect(buildTemplate(sent, bodies)).toBe(sent);
  });
});

describe('content modes', () => {
  const sent = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'mail me at a.b@example.com, key sk-abcdefghijklmnopqrstuvwx' }] });
  const messages = (JSON.parse(sent) as { messages: unknown[] }).messages;

  it('redacted masks messages, reply and the template alike', () => {
    const r = recordContent('redacted', sent, messages, 'call +1 415 555 0100 or card 4111 1111 1111 1111');
    // What the store keeps of each message is the masked text.
    expect(r.messageTexts).toEqual(['{"role":"user","content":"mail me at [REDACTED_EMAIL], key [REDACTED_SECRET]"}']);
    expect(r.reply).toBe('call [REDACTED_PHONE] or card [REDACTED_CARD]');
    expect(inflateTemplate(r.upstreamTemplate!, r.messageTexts)).not.toContain('example.com');
  });

  it('metadata keeps no text, only the count', () => {
    expect(recordContent('metadata', sent, messages, 'secret reply')).toEqual({ messageTexts: [], reply: null, upstreamTemplate: null, messageCount: 1 });
  });

  it('redactText leaves ordinary numbers and text alone', () => {
    expect(redactText('order 12345, 3 items, v1.2.3, 2024-01-01')).toBe('order 12345, 3 items, v1.2.3, 2024-01-01');
  });
});

describe('replay', () => {
  const base = (over: Partial<Checkpoint>): Checkpoint => ({
    sessionId: 'ses_1', seq: 2, agent: 'a', patId: 'p', requestId: 'r', clientRequestId: null, model: 'fast', directiveVersion: 3,
    messages: [], reply: 'x', finishReason: 'stop', usage: null, costUsd: null, status: 'ok', errorCode: null, stream: false, createdAt: 1, ...over,
  });

  it('chat: takes the placed directive out and sets the model back to the caller’s', () => {
    const messages = [{ role: 'system', content: 'D3' }, { role: 'user', content: 'hi' }];
    const sent = JSON.stringify({ model: 'gpt-4o-mini', messages, temperature: 0 });
    const cp = base({ messages, protocol: 'openai-chat', upstreamPath: '/chat/completions', upstreamTemplate: buildTemplate(sent, messages.map(messageText)) });
    expect(sentBody(cp)).toBe(sent);
    const r = replayRequest(cp, 2, { recordedDirective: 'D3' })!;
    expect(r.path).toBe('/v1/chat/completions');
    expect(r.body).toBe('{"model":"fast","messages":[{"role":"user","content":"hi"}],"temperature":0}');
    expect(r.headers).toMatchObject({ 'x-ibex-replay-of': 'ses_1:2', 'x-ibex-directive-version': '3', 'x-ibex-agent': 'a' });
    expect(replayRequest(cp, 2, { recordedDirective: 'D3', model: 'other', directiveVersion: 1 })!.headers['x-ibex-directive-version']).toBe('1');
  });

  it('responses: gives the caller its own instructions back', () => {
    const messages = [{ role: 'system', content: 'D3\n\nmine' }, { type: 'message', role: 'user', content: 'q' }];
    const sent = JSON.stringify({ model: 'fast', instructions: 'D3\n\nmine', input: 'q' });
    const cp = base({ messages, protocol: 'openai-responses', upstreamPath: '/responses', upstreamTemplate: buildTemplate(sent, messages.map(messageText)) });
    expect(replayRequest(cp, 1, { recordedDirective: 'D3' })!.body).toBe('{"model":"fast","instructions":"mine","input":"q"}');
  });

  it('no body recorded (metadata mode): nothing to replay', () => {
    expect(replayRequest(base({ upstreamTemplate: null }), 1, { recordedDirective: null })).toBeNull();
  });
});

describe('export lines', () => {
  it('openai-finetune: the turn’s messages then the reply as the assistant message; failed turns skipped', () => {
    const cp = {
      sessionId: 's', seq: 1, agent: 'a', patId: 'p', requestId: 'r', clientRequestId: null, model: 'm', directiveVersion: 1,
      messages: [{ role: 'system', content: 'D' }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }] }],
      reply: 'A', finishReason: 'stop', usage: null, costUsd: null, status: 'ok' as const, errorCode: null, stream: false, createdAt: 1, upstreamTemplate: 'x',
    };
    expect(exportLine(cp, 'openai-finetune')).toBe('{"messages":[{"role":"system","content":"D"},{"role":"user","content":"q"},{"role":"assistant","content":"A"}]}');
    expect(exportLine({ ...cp, status: 'upstream_error' }, 'openai-finetune')).toBeNull();
    expect(JSON.parse(exportLine(cp, 'jsonl')!)).not.toHaveProperty('upstreamTemplate');
  });
});
