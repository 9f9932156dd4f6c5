// Pure parts of the mock's wider surface: the tool-call trigger, SSE pacing groups, embedding
// vectors, Responses input items, Anthropic errors and prompt-cache accounting.
import { describe, expect, it } from 'vitest';
import { parseToolCalls, triggeredCalls } from '../../src/mock/tool-trigger.js';
import { paceEvents } from '../../src/mock/route.js';
import { embeddingInputs, embeddingVector, toBase64 } from '../../src/mock/openai-embeddings.js';
import { inputItems, responsesLastUserText } from '../../src/mock/openai-responses.js';
import { anthropicErrorBody, anthropicErrorType } from '../../src/mock/anthropic-shapes.js';
import { PromptCache, promptTokens } from '../../src/mock/anthropic-server.js';

describe('tool-call trigger', () => {
  it('parses one call per line, arguments verbatim, {} when absent', () => {
    expect(parseToolCalls('call:get_weather {"city": "Paris"}')).toEqual([{ name: 'get_weather', arguments: '{"city": "Paris"}', input: { city: 'Paris' } }]);
    expect(parseToolCalls('call:a\n  call:b {"x":[1]}  \n')).toEqual([
      { name: 'a', arguments: '{}', input: {} },
      { name: 'b', arguments: '{"x":[1]}', input: { x: [1] } },
    ]);
  });

  it('is not a trigger when any line is not a call, or the JSON is not an object', () => {
    for (const text of ['hello', 'call:a\nhello', 'call:a [1]', 'call:a {oops', 'call: a {}', '', 'please call:a {}']) {
      expect(parseToolCalls(text), text).toBeUndefined();
    }
  });

  it('needs declared tools', () => {
    expect(triggeredCalls({ tools: [] }, 'call:a')).toBeUndefined();
    expect(triggeredCalls({}, 'call:a')).toBeUndefined();
    expect(triggeredCalls({ tools: [{}] }, 'call:a')).toHaveLength(1);
  });
});

describe('paceEvents', () => {
  const e = (text: string, delta = false) => ({ text, delta });
  it('sends everything up to the first delta at once, one write per later delta, the rest as tail', () => {
    expect(paceEvents([e('s'), e('d1', true), e('d2', true), e('h'), e('d3', true), e('end1'), e('end2')])).toEqual({
      first: 'sd1',
      rest: ['d2', 'hd3'],
      tail: 'end1end2',
    });
    expect(paceEvents([e('a'), e('b')])).toEqual({ first: 'ab', rest: [], tail: '' });
  });
});

describe('embeddings', () => {
  it('vectors are deterministic, unit length, float32-exact, and depend on the input', () => {
    const a = embeddingVector('hello', 32);
    expect(embeddingVector('hello', 32)).toEqual(a);
    expect(embeddingVector('hello!', 32)).not.toEqual(a);
    expect(embeddingVector([1, 2, 3], 32)).not.toEqual(embeddingVector('1,2,3', 32));
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(a.every((x) => Math.fround(x) === x)).toBe(true);
    const buf = Buffer.from(toBase64(a), 'base64');
    expect(Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4))).toEqual(a);
  });

  it('accepts the four input forms and refuses others', () => {
    expect(embeddingInputs('x')).toEqual(['x']);
    expect(embeddingInputs(['x', 'y'])).toEqual(['x', 'y']);
    expect(embeddingInputs([1, 2])).toEqual([[1, 2]]);
    expect(embeddingInputs([[1], [2]])).toEqual([[1], [2]]);
    for (const bad of [[], 3, [1, 'x'], null, [{}]]) expect(embeddingInputs(bad)).toBeUndefined();
  });
});

describe('Responses input', () => {
  let n = 0;
  const id = (p: string) => p + ++n;
  it('input items: a string becomes one user message; easy messages get typed content; other items keep their fields', () => {
    expect(inputItems('hi', id)).toEqual([{ id: 'msg_1', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'hi' }] }]);
    const items = inputItems(
      [
        { role: 'assistant', content: 'before' },
        { type: 'function_call_output', call_id: 'c1', output: 'r' },
      ],
      id,
    );
    expect(items[0]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'before' }] });
    expect(items[1]).toMatchObject({ type: 'function_call_output', call_id: 'c1', output: 'r', status: 'completed', id: expect.stringMatching(/^item_/) });
  });

  it('the trigger text is the last item only when it is a user message', () => {
    expect(responsesLastUserText('call:a')).toBe('call:a');
    expect(responsesLastUserText([{ role: 'user', content: [{ type: 'input_text', text: 'call:a' }] }])).toBe('call:a');
    expect(responsesLastUserText([{ role: 'user', content: 'call:a' }, { type: 'function_call_output', call_id: 'c', output: 'x' }])).toBeUndefined();
  });
});

describe('Anthropic', () => {
  it('error types per status, in the ErrorResponse envelope', () => {
    expect([400, 401, 403, 404, 413, 429, 500, 503, 529, 504].map(anthropicErrorType)).toEqual([
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'not_found_error',
      'request_too_large',
      'rate_limit_error',
      'api_error',
      'overloaded_error',
      'overloaded_error',
      'timeout_error',
    ]);
    expect(anthropicErrorBody(529, undefined, 'req_1')).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: expect.any(String) },
      request_id: 'req_1',
    });
  });

  it('prompt cache: write once then read, per model; no cache_control → no cache; 1h ttl reported apart', () => {
    const cache = new PromptCache();
    const body = (model: string, question: string) => ({
      model,
      system: [{ type: 'text', text: 'x'.repeat(400), cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: question }],
    });
    const first = promptTokens(body('m1', 'q1'), cache);
    expect(first.cacheWrite).toBeGreaterThan(90);
    expect(first.cacheRead).toBe(0);
    const second = promptTokens(body('m1', 'another question'), cache);
    expect(second).toMatchObject({ cacheWrite: 0, cacheRead: first.cacheWrite });
    expect(promptTokens(body('m2', 'q1'), cache).cacheWrite).toBe(first.cacheWrite);
    expect(promptTokens({ model: 'm1', messages: [{ role: 'user', content: 'x' }] }, cache)).toMatchObject({ cacheWrite: 0, cacheRead: 0 });
    const ttl = promptTokens(
      { model: 'm3', messages: [{ role: 'user', content: [{ type: 'text', text: 'y', cache_control: { type: 'ephemeral', ttl: '1h' } }] }] },
      cache,
    );
    expect(ttl.ttl1h).toBe(true);
  });
});
