// The Anthropic Messages protocol, request side: validation, directive placement (issue 13, and the
// opt-in cache breakpoint of issue 15), what is recorded, and errors in Anthropic's shape.
import type { MessageCreateParamsNonStreaming, TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import { describe, expect, it } from 'vitest';
import { ERRORS, IbexError } from '../../src/errors.js';
import {
  countBreakpoints,
  parseCountTokensRequest,
  parseRequest,
  placeDirective,
  recordedInput,
  renderError,
  streamErrorEvent,
} from '../../src/protocols/anthropic-messages/index.js';

const valid = (): MessageCreateParamsNonStreaming & Record<string, unknown> => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello' }],
});

function parseError(body: unknown): IbexError {
  try {
    parseRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(IbexError);
    return e as IbexError;
  }
  throw new Error('parseRequest accepted an invalid body');
}

describe('parseRequest', () => {
  it('accepts a valid body and passes it through untouched', () => {
    const body = { ...valid(), stream: true, temperature: 0.2, system: [{ type: 'text', text: 'be brief' }], whatever: { x: 1 } };
    const parsed = parseRequest(body);
    expect(parsed.model).toBe('claude-sonnet-4-5');
    expect(parsed.stream).toBe(true);
    expect(parsed.body).toBe(body);
    expect(parseRequest(valid()).stream).toBe(false);
  });

  const cases: [string, unknown, string][] = [
    ['not an object', [1, 2], 'body'],
    ['null', null, 'body'],
    ['model missing', { ...valid(), model: undefined }, 'model'],
    ['model empty', { ...valid(), model: '' }, 'model'],
    ['model too long', { ...valid(), model: 'm'.repeat(257) }, 'model'],
    ['messages not an array', { ...valid(), messages: 'hi' }, 'messages'],
    ['messages empty', { ...valid(), messages: [] }, 'messages'],
    ['message not an object', { ...valid(), messages: ['hi'] }, 'messages[0]'],
    ['unknown role', { ...valid(), messages: [{ role: 'user', content: 'a' }, { role: 'tool', content: 'b' }] }, 'messages[1].role'],
    ['content missing', { ...valid(), messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['content block not an object', { ...valid(), messages: [{ role: 'user', content: ['x'] }] }, 'messages[0].content'],
    ['max_tokens missing', { ...valid(), max_tokens: undefined }, 'max_tokens'],
    ['max_tokens zero', { ...valid(), max_tokens: 0 }, 'max_tokens'],
    ['max_tokens fractional', { ...valid(), max_tokens: 1.5 }, 'max_tokens'],
    ['max_tokens a string', { ...valid(), max_tokens: '100' }, 'max_tokens'],
    ['system a number', { ...valid(), system: 3 }, 'system'],
    ['system block not text', { ...valid(), system: [{ type: 'text', text: 'ok' }, { type: 'image', source: {} }] }, 'system[1]'],
    ['system block without text', { ...valid(), system: [{ type: 'text' }] }, 'system[0]'],
    ['stream not a boolean', { ...valid(), stream: 'yes' }, 'stream'],
    ['tool_use without an id', { ...valid(), messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }] }, 'messages[0].content[0].id'],
    ['tool_use without a name', { ...valid(), messages: [{ role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'tool_use', id: 't1', input: {} }] }] }, 'messages[0].content[1].name'],
    ['tool_result without tool_use_id', { ...valid(), messages: [{ role: 'user', content: 'q' }, { role: 'user', content: [{ type: 'tool_result', content: 'r' }] }] }, 'messages[1].content[0].tool_use_id'],
  ];
  for (const [name, body, param] of cases) {
    it(`refuses ${name} with a 400 naming ${param}`, () => {
      const e = parseError(body);
      expect(e.errorName).toBe('IBEX_ERR_INVALID_REQUEST');
      expect(e.status).toBe(400);
      expect(e.param).toBe(param);
    });
  }

  it('count_tokens bodies need no max_tokens and are never streamed', () => {
    const { max_tokens: _, ...body } = valid();
    const parsed = parseCountTokensRequest(body);
    expect(parsed.model).toBe('claude-sonnet-4-5');
    expect(parsed.stream).toBe(false);
    expect(() => parseCountTokensRequest({ ...body, messages: [] })).toThrow(IbexError);
  });
});

describe('placeDirective', () => {
  const directive = 'You are the billing agent.';

  it('puts the directive first and the caller’s string system after it, as blocks', () => {
    const body = { ...valid(), system: 'Answer in French.' };
    const out = placeDirective(body, directive);
    expect(out.system).toEqual([
      { type: 'text', text: directive },
      { type: 'text', text: 'Answer in French.' },
    ]);
    expect(body.system).toBe('Answer in French.'); // the caller's body is not changed
    expect(out.messages).toBe(body.messages);
  });

  it('keeps the caller’s system blocks exactly, cache_control included, after the directive', () => {
    const callerBlocks: TextBlockParam[] = [
      { type: 'text', text: 'Long reference text', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Second block' },
    ];
    const out = placeDirective({ ...valid(), system: callerBlocks }, directive);
    const system = out.system as TextBlockParam[];
    expect(system).toHaveLength(3);
    expect(system[0]).toEqual({ type: 'text', text: directive });
    expect(system[1]).toBe(callerBlocks[0]);
    expect(system[2]).toBe(callerBlocks[1]);
  });

  it('adds a system when the caller sent none, and drops an empty caller string', () => {
    expect(placeDirective(valid(), directive).system).toEqual([{ type: 'text', text: directive }]);
    expect(placeDirective({ ...valid(), system: '' }, directive).system).toEqual([{ type: 'text', text: directive }]);
  });

  it('leaves the body alone without a directive', () => {
    const body = { ...valid(), system: 'x' };
    expect(placeDirective(body, null)).toBe(body);
    expect(placeDirective(body, '')).toBe(body);
  });

  it('with cacheControl, the directive block carries an ephemeral breakpoint', () => {
    const out = placeDirective({ ...valid(), system: 'caller' }, directive, { cacheControl: true });
    expect(out.system).toEqual([
      { type: 'text', text: directive, cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'caller' },
    ]);
  });

  it('adds no fifth breakpoint when the caller already uses the four Anthropic allows', () => {
    const cc = { type: 'ephemeral' as const };
    const body = {
      ...valid(),
      tools: [{ name: 't', input_schema: { type: 'object' }, cache_control: cc }],
      system: [{ type: 'text', text: 's', cache_control: cc }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a', cache_control: cc }] },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: 'r', cache_control: cc }] }] },
      ],
    };
    expect(countBreakpoints(body)).toBe(4);
    const out = placeDirective(body, directive, { cacheControl: true });
    expect((out.system as TextBlockParam[])[0]).toEqual({ type: 'text', text: directive });
    const three = { ...body, tools: [{ name: 't', input_schema: { type: 'object' } }] };
    expect((placeDirective(three, directive, { cacheControl: true }).system as TextBlockParam[])[0]!.cache_control).toEqual(cc);
  });
});

describe('recordedInput', () => {
  it('records system and messages as sent (directive included)', () => {
    const sent = placeDirective({ ...valid(), system: 'caller' }, 'D');
    expect(recordedInput(sent)).toEqual({ system: [{ type: 'text', text: 'D' }, { type: 'text', text: 'caller' }], messages: sent.messages });
    expect(recordedInput(valid())).toEqual({ system: null, messages: valid().messages });
  });
});

describe('renderError', () => {
  const statuses: [number, string][] = [
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [431, 'invalid_request_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'api_error'],
    [504, 'timeout_error'],
    [529, 'overloaded_error'],
  ];
  for (const [status, type] of statuses) {
    it(`${status} → ${type}`, () => {
      expect(renderError({ status, code: 'c', type: 'whatever', message: 'm' }).error.type).toBe(type);
    });
  }

  it('renders a catalog error in Anthropic’s shape, keeping ibex’s code and param', () => {
    const e = new IbexError('IBEX_ERR_INVALID_API_KEY');
    expect(renderError(e)).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: ERRORS.IBEX_ERR_INVALID_API_KEY.message, code: 'invalid_api_key' },
    });
    const bad = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'no', param: 'max_tokens' });
    expect(renderError(bad).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param: 'max_tokens' });
  });

  it('streamErrorEvent is one `error` SSE event', () => {
    const bytes = streamErrorEvent(new IbexError('IBEX_ERR_UPSTREAM_TIMEOUT'));
    expect(bytes.startsWith('event: error\ndata: ')).toBe(true);
    expect(bytes.endsWith('\n\n')).toBe(true);
    const data = JSON.parse(bytes.slice('event: error\ndata: '.length));
    expect(data).toEqual({ type: 'error', error: { type: 'timeout_error', message: ERRORS.IBEX_ERR_UPSTREAM_TIMEOUT.message, code: 'upstream_timeout' } });
  });
});
