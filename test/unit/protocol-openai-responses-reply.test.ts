import { describe, expect, it } from 'vitest';
import { createReassembler, renderError, streamErrorEvent, summarise } from '../../src/protocols/openai-responses/index.js';
import { FULL_TEXT, USAGE, fullEvents, fullResponse, pieces, sse } from './protocol-openai-responses-fixtures.js';

const CALLS = [
  { id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'call_tokyo', name: 'get_weather', arguments: '{"city":"東京"}' },
];
const FULL_USAGE = { promptTokens: 1200, completionTokens: 340, totalTokens: 1540, cachedTokens: 1024, reasoningTokens: 256 };

describe('summarise', () => {
  it('reads text, function calls, usage with cached and reasoning tokens, and the id', () => {
    const facts = summarise(fullResponse());
    expect(facts).toMatchObject({
      text: FULL_TEXT,
      toolCalls: CALLS,
      finishReason: 'completed',
      usage: FULL_USAGE,
      streamError: null,
      completed: true,
      responseId: 'resp_0123abc',
    });
    expect(facts.output).toHaveLength(4);
  });

  it('an incomplete reply names its reason; a failed one carries the error', () => {
    const incomplete = summarise(fullResponse({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }));
    expect(incomplete.finishReason).toBe('incomplete:max_output_tokens');
    expect(incomplete.completed).toBe(true); // delivered to its end, like chat's finish_reason "length"
    const failed = summarise(fullResponse({ status: 'failed', error: { code: 'server_error', message: 'boom' } }));
    expect(failed).toMatchObject({ finishReason: 'failed', streamError: 'boom' });
  });

  it('a background response still queued is not completed; no message → text null; usage absent → null', () => {
    const queued = summarise(fullResponse({ status: 'queued', output: [], usage: undefined }));
    expect(queued).toMatchObject({ completed: false, text: null, toolCalls: [], usage: null, finishReason: 'queued' });
    expect(summarise(null)).toMatchObject({ text: null, completed: false, responseId: null, output: null });
  });

  it('usage without details has no cached or reasoning fields', () => {
    const facts = summarise({ status: 'completed', usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } });
    expect(facts.usage).toEqual({ promptTokens: 5, completionTokens: 2, totalTokens: 7 });
  });
});

const pick = (f: object) => {
  const keys = ['text', 'toolCalls', 'finishReason', 'usage', 'completed', 'responseId', 'streamError', 'truncated', 'bytes'];
  return Object.fromEntries(keys.map((k) => [k, (f as Record<string, unknown>)[k]]));
};

describe('createReassembler', () => {
  const expected = { text: FULL_TEXT, toolCalls: CALLS, finishReason: 'completed', usage: FULL_USAGE, completed: true, responseId: 'resp_0123abc', streamError: null, truncated: false };

  it('rebuilds the facts of a stream split at every byte boundary', () => {
    const bytes = sse(fullEvents());
    const want = JSON.stringify(pick({ ...expected, bytes: bytes.length }));
    const failures: number[] = [];
    for (let at = 0; at <= bytes.length; at++) {
      const r = createReassembler(1 << 20);
      r.push(bytes.subarray(0, at));
      r.push(bytes.subarray(at));
      if (JSON.stringify(pick(r.finish())) !== want) failures.push(at);
    }
    expect(failures).toEqual([]);
    const one = createReassembler(1 << 20);
    one.push(bytes);
    expect(one.finish()).toMatchObject(expected); // the projection above compares what it should
  });

  it('rebuilds the same facts from one-byte pushes, CRLF line endings and keep-alive comments', () => {
    const crlf = Buffer.from(': keep-alive\r\n\r\n' + sse(fullEvents()).toString('utf8').replaceAll('\n', '\r\n'), 'utf8');
    const r = createReassembler(1 << 20);
    for (const p of pieces(crlf, [1])) r.push(p);
    expect(r.finish()).toMatchObject(expected);
    expect(r.lastSequenceNumber).toBe(fullEvents().length - 1);
  });

  it('without a terminal event: facts from the deltas, completed false', () => {
    const events = fullEvents(null);
    // Cut the stream in the middle of the second function call's arguments.
    const upTo = events.findIndex((e) => e.type === 'response.function_call_arguments.done' && e.output_index === 3);
    const bytes = sse(events.slice(0, upTo));
    for (let at = 0; at <= bytes.length; at += 7) {
      const r = createReassembler(1 << 20);
      for (const p of [bytes.subarray(0, at), bytes.subarray(at)]) r.push(p);
      const facts = r.finish();
      expect(facts, `split at ${at}`).toMatchObject({ text: FULL_TEXT, toolCalls: CALLS, completed: false, usage: null, finishReason: null, responseId: 'resp_0123abc', truncated: false });
    }
    // Cut inside an event's data line: the partial event is ignored, what came before is kept.
    const r = createReassembler(1 << 20);
    const whole = sse(fullEvents());
    const cut = whole.indexOf('"delta":"\\"Paris');
    expect(cut).toBeGreaterThan(0);
    r.push(whole.subarray(0, cut + 12));
    expect(r.finish()).toMatchObject({ text: FULL_TEXT, toolCalls: [{ id: 'call_paris', name: 'get_weather', arguments: '{"city":' }], completed: false });
  });

  it('an incomplete or failed terminal event still ends the stream, with its reason or error', () => {
    const inc = createReassembler(1 << 20);
    inc.push(sse(fullEvents('response.incomplete')));
    expect(inc.finish()).toMatchObject({ completed: true, finishReason: 'incomplete:max_output_tokens', usage: FULL_USAGE });
    const failed = createReassembler(1 << 20);
    failed.push(sse(fullEvents('response.failed')));
    expect(failed.finish()).toMatchObject({ completed: true, finishReason: 'failed', streamError: 'The model crashed.' });
  });

  it('a terminal event with a bare response ends the stream; the deltas give the text', () => {
    const r = createReassembler(1 << 20);
    r.push(sse([...fullEvents(null), { type: 'response.completed', response: { id: 'resp_0123abc' }, sequence_number: 99 } as never]));
    expect(r.finish()).toMatchObject({ completed: true, text: FULL_TEXT, toolCalls: CALLS, usage: null, truncated: false });
  });

  it('an in-band error event is the streamError', () => {
    const r = createReassembler(1 << 20);
    const events = fullEvents(null).slice(0, 8);
    r.push(sse([...events, { type: 'error', code: 'server_error', message: 'upstream went away', param: null, sequence_number: 8 } as never]));
    expect(r.finish()).toMatchObject({ streamError: 'upstream went away', completed: false, text: 'Héllo, wörld 🌍. ' });
  });

  it('truncates beyond maxBytes: deltas stop growing, an oversized event is dropped', () => {
    const events = fullEvents(null);
    const r = createReassembler(12);
    r.push(sse(events));
    const facts = r.finish();
    expect(facts.truncated).toBe(true);
    expect(facts.completed).toBe(false);
    expect((facts.text ?? '').length).toBeLessThanOrEqual(12);
    expect(facts.bytes).toBe(sse(events).length);
  });

  it('a terminal event too large to keep still marks the stream completed (truncated, no usage)', () => {
    const events = fullEvents();
    const bytes = sse(events);
    const terminalLen = sse(events.slice(-1)).length;
    const r = createReassembler(terminalLen - 200); // every event fits but the last
    for (const p of pieces(bytes, [5, 64, 1, 300])) r.push(p);
    const facts = r.finish();
    expect(facts).toMatchObject({ completed: true, truncated: true, usage: null, text: FULL_TEXT, toolCalls: CALLS });
  });

  it('holds at most maxBytes of an event it cannot keep (memory stays bounded)', () => {
    const huge = { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'x'.repeat(200_000), logprobs: [], sequence_number: 0 };
    const r = createReassembler(1000);
    for (const p of pieces(sse([huge, ...fullEvents().slice(-1)]), [4096])) r.push(p);
    const facts = r.finish();
    // The oversized delta was dropped; the terminal event after it, larger than 1000 bytes too, is known
    // only by its name.
    expect(facts.text ?? '').not.toContain('xxxx');
    expect(facts.completed).toBe(true);
    expect(facts.truncated).toBe(true);
  });
});

describe('errors', () => {
  const e = { status: 429, code: 'rate_limit_exceeded', type: 'rate_limit_error', message: 'Slow down.', param: null };

  it('renders the OpenAI error body', () => {
    expect(renderError(e)).toEqual({ error: { message: 'Slow down.', type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null } });
    expect(renderError({ ...e, param: undefined }).error.param).toBeNull();
    expect(renderError({ ...e, param: 'model' }).error.param).toBe('model');
  });

  it('the in-band error event is a ResponseErrorEvent the reassembler reads back', () => {
    const bytes = streamErrorEvent(e, 17);
    expect(bytes.startsWith('event: error\ndata: ')).toBe(true);
    expect(bytes.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(bytes.slice('event: error\ndata: '.length))).toEqual({ type: 'error', code: 'rate_limit_exceeded', message: 'Slow down.', param: null, sequence_number: 17 });
    const r = createReassembler(1 << 20);
    r.push(sse(fullEvents(null).slice(0, 3)));
    r.push(Buffer.from(streamErrorEvent(e, r.lastSequenceNumber + 1)));
    expect(r.finish()).toMatchObject({ streamError: 'Slow down.', completed: false });
    expect(r.lastSequenceNumber).toBe(3);
  });
});
