import { describe, expect, it } from 'vitest';
import { IbexError } from '../../src/errors.js';
import {
  callerInstructions,
  joinInstructions,
  parseRequest,
  placeDirective,
  recordedInput,
  sessionLink,
  continuedReply,
  type ResponsesBody,
} from '../../src/protocols/openai-responses/index.js';

function rejection(body: unknown): { param: string | null; message: string; status: number; code: string } | 'accepted' {
  try {
    parseRequest(body);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(IbexError);
    const err = e as IbexError;
    return { param: err.param, message: err.message, status: err.status, code: err.code };
  }
}

describe('parseRequest', () => {
  it('accepts the shapes the SDK sends and keeps the body untouched', () => {
    const body = { model: 'gpt-4.1', input: 'hi', instructions: null, stream: true, store: false, extra: { x: 1 } };
    const parsed = parseRequest(body);
    expect(parsed).toEqual({ model: 'gpt-4.1', stream: true, body });
    expect(parsed.body).toBe(body);
    expect(parseRequest({ model: 'm' }).stream).toBe(false); // a turn that only continues previous_response_id
    expect(parseRequest({ model: 'm', input: [{ role: 'user', content: 'x' }], stream: null }).stream).toBe(false);
    expect(parseRequest({ model: 'm', previous_response_id: null, conversation: { id: 'conv_1' } }).model).toBe('m');
  });

  it('names the field that is wrong, as a 400 invalid_request', () => {
    const cases: [unknown, string][] = [
      [null, 'body'],
      [[{ model: 'm' }], 'body'],
      ['{"model":"m"}', 'body'],
      [{}, 'model'],
      [{ model: '' }, 'model'],
      [{ model: 'm'.repeat(257) }, 'model'],
      [{ model: 42 }, 'model'],
      [{ model: 'm', input: 7 }, 'input'],
      [{ model: 'm', input: { role: 'user' } }, 'input'],
      [{ model: 'm', input: [{ role: 'user', content: 'x' }, 'oops'] }, 'input[1]'],
      [{ model: 'm', input: [null] }, 'input[0]'],
      [{ model: 'm', instructions: ['a'] }, 'instructions'],
      [{ model: 'm', stream: 'true' }, 'stream'],
      [{ model: 'm', previous_response_id: 12 }, 'previous_response_id'],
      [{ model: 'm', previous_response_id: '' }, 'previous_response_id'],
      [{ model: 'm', conversation: { name: 'x' } }, 'conversation'],
      [{ model: 'm', conversation: 5 }, 'conversation'],
    ];
    for (const [body, param] of cases) {
      const r = rejection(body);
      expect(r, JSON.stringify(body)?.slice(0, 60)).not.toBe('accepted');
      if (r === 'accepted') continue;
      expect(r.param).toBe(param);
      expect(r.status).toBe(400);
      expect(r.code).toBe('invalid_request');
      expect(r.message.length).toBeGreaterThan(10);
    }
    expect(rejection({ model: 'm'.repeat(256) })).toBe('accepted');
  });
});

describe('sessionLink', () => {
  it('prefers previous_response_id, then the conversation id in either form', () => {
    expect(sessionLink({ model: 'm', previous_response_id: 'resp_1', conversation: 'conv_1' })).toBe('resp_1');
    expect(sessionLink({ model: 'm', conversation: 'conv_1' })).toBe('conv_1');
    expect(sessionLink({ model: 'm', conversation: { id: 'conv_2' } })).toBe('conv_2');
    // only a previous_response_id is a reply (one another replica may have just served)
    expect(continuedReply({ model: 'm', previous_response_id: 'resp_1', conversation: 'conv_1' })).toBe('resp_1');
    expect(continuedReply({ model: 'm', conversation: 'conv_1' })).toBeNull();
    expect(sessionLink({ model: 'm', previous_response_id: null, conversation: null })).toBeNull();
    expect(sessionLink({ model: 'm', input: 'x' })).toBeNull();
  });
});

describe('placeDirective', () => {
  const body: ResponsesBody = { model: 'm', input: 'hi', instructions: 'Answer in French.', tools: [{ type: 'function', name: 'f' }], stream: true };

  it('puts the directive first, a blank line, then the caller instructions; other fields untouched', () => {
    const placed = placeDirective(body, 'You are ibex-agent.\nBe safe.');
    expect(placed.instructions).toBe('You are ibex-agent.\nBe safe.\n\nAnswer in French.');
    expect({ ...placed, instructions: body.instructions }).toEqual(body);
    expect(placed.tools).toBe(body.tools);
    expect(body.instructions).toBe('Answer in French.'); // the caller's body is not mutated
  });

  it('without caller instructions the directive is the whole of instructions', () => {
    for (const instructions of [undefined, null, '']) {
      const b: ResponsesBody = { model: 'm', input: 'hi', ...(instructions === undefined ? {} : { instructions }) };
      expect(placeDirective(b, 'D').instructions).toBe('D');
    }
  });

  it('no directive leaves the body as is', () => {
    expect(placeDirective(body, null)).toBe(body);
    expect(placeDirective(body, '')).toBe(body);
  });

  it('replay is byte-exact: the caller instructions come back out of what was sent', () => {
    for (const caller of ['Answer in French.', 'two\n\nparagraphs', null]) {
      const sent = joinInstructions('D1\n', caller);
      expect(callerInstructions(sent, 'D1\n')).toBe(caller);
      expect(joinInstructions('D1\n', callerInstructions(sent, 'D1\n'))).toBe(sent);
    }
    expect(callerInstructions('something else', 'D1')).toBeUndefined();
    expect(callerInstructions(null, 'D1')).toBeUndefined();
  });
});

describe('recordedInput', () => {
  it('records the instructions sent and a string input as one user message item', () => {
    const placed = placeDirective({ model: 'm', input: 'What is 2+2?' }, 'D');
    expect(recordedInput(placed)).toEqual({ instructions: 'D', input: [{ type: 'message', role: 'user', content: 'What is 2+2?' }] });
  });

  it('keeps input items as sent, and [] for a turn with no input', () => {
    const items = [
      { type: 'function_call_output', call_id: 'call_1', output: '{"ok":true}' },
      { role: 'user', content: [{ type: 'input_text', text: 'thanks' }] },
    ];
    expect(recordedInput({ model: 'm', input: items, instructions: null })).toEqual({ instructions: null, input: items });
    expect(recordedInput({ model: 'm', previous_response_id: 'resp_1' })).toEqual({ instructions: null, input: [] });
  });
});
