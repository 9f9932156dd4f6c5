import { describe, expect, it } from 'vitest';
import { validateSessionId, acceptRequestId } from '../../src/pipeline/validate.js';
import { checkRateLimits } from '../../src/pipeline/rate-limit.js';
import { MemoryRateLimiter } from '../../src/stores/memory/rate-limiter.js';
import { mapUpstreamException, mapUpstreamStatus } from '../../src/providers/openai/error-map.js';
import { retryAfterMs, retryDelayMs } from '../../src/providers/openai/retry-policy.js';
import { createReassembler, parseChatSse } from '../../src/protocols/openai-chat/reassemble.js';
import { parseRequest } from '../../src/protocols/openai-chat/parse.js';
import { IbexError, UpstreamPassthroughError } from '../../src/errors.js';
import { ProviderRegistry } from '../../src/providers/index.js';
import type { Provider } from '../../src/providers/types.js';
import { isWellFormedPat, generatePat, bearerToken } from '../../src/auth/pat.js';
import { parseDuration } from '../../src/util/duration.js';
import { redact } from '../../src/log.js';

const chatBody = (b: unknown) => parseRequest(b).body;

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as IbexError).param;
  }
  return 'no error';
};

describe('openai-chat parseRequest', () => {
  it('accepts a minimal body and names the bad field otherwise', () => {
    expect(chatBody({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).model).toBe('m');
    expect(code(() => chatBody(null))).toBe('body');
    expect(code(() => chatBody([]))).toBe('body');
    expect(code(() => chatBody({ messages: [] }))).toBe('model');
    expect(code(() => chatBody({ model: 'm', messages: 'x' }))).toBe('messages');
    expect(code(() => chatBody({ model: 'm', messages: [] }))).toBe('messages');
    expect(code(() => chatBody({ model: 'm', messages: [{ content: 'x' }] }))).toBe('messages[0].role');
    expect(code(() => chatBody({ model: 'm', messages: [{ role: 'user' }], stream: 'yes' }))).toBe('stream');
  });

  it('session and request ids', () => {
    expect(validateSessionId('ses_abc-1.2:3')).toBe('ses_abc-1.2:3');
    expect(() => validateSessionId("x'; DROP TABLE sessions;--")).toThrow(IbexError);
    expect(() => validateSessionId('a'.repeat(129))).toThrow(IbexError);
    expect(acceptRequestId('req-1')).toBe('req-1');
    expect(acceptRequestId('bad id with spaces')).toBeNull();
    expect(acceptRequestId('\u001b[31m')).toBeNull();
    expect(acceptRequestId(undefined)).toBeNull();
  });
});

describe('checkRateLimits', () => {
  it('no limits → no headers; the tighter limit sets the headers; 429 carries retry-after', async () => {
    const rl = new MemoryRateLimiter();
    expect(await checkRateLimits(rl, { patId: 'p', patRpm: null, agent: 'a', agentRpm: null })).toBeNull();
    const h = await checkRateLimits(rl, { patId: 'p1', patRpm: 10, agent: 'a1', agentRpm: 2 });
    expect(h).toMatchObject({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '1' });
    await checkRateLimits(rl, { patId: 'p1', patRpm: 10, agent: 'a1', agentRpm: 2 });
    const err = await checkRateLimits(rl, { patId: 'p1', patRpm: 10, agent: 'a1', agentRpm: 2 }).catch((e) => e as IbexError);
    expect(err).toBeInstanceOf(IbexError);
    expect((err as IbexError).status).toBe(429);
    expect(Number((err as IbexError).headers['retry-after'])).toBeGreaterThan(0);
    rl.close();
  });
});

describe('upstream error mapping', () => {
  it('maps statuses per docs/errors.md', () => {
    expect((mapUpstreamStatus(401, {}, '') as IbexError).code).toBe('upstream_auth_error');
    expect((mapUpstreamStatus(403, {}, '') as IbexError).status).toBe(502);
    const rl = mapUpstreamStatus(429, { 'retry-after': '7' }, '{"error":{"message":"slow down"}}') as IbexError;
    expect(rl.code).toBe('upstream_rate_limited');
    expect(rl.headers['retry-after']).toBe('7');
    const pass = mapUpstreamStatus(400, {}, '{"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found","param":"model"}}');
    expect(pass).toBeInstanceOf(UpstreamPassthroughError);
    expect((pass as UpstreamPassthroughError).toBody().error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect((mapUpstreamStatus(404, {}, 'not json') as UpstreamPassthroughError).toBody().error.message).toBe('not json');
    expect((mapUpstreamStatus(500, {}, '') as IbexError).code).toBe('upstream_error');
    expect((mapUpstreamStatus(503, {}, '') as IbexError).status).toBe(502);
  });

  it('maps client exceptions: timeouts → 504, the rest → 502', () => {
    expect(mapUpstreamException({ code: 'UND_ERR_HEADERS_TIMEOUT' }).code).toBe('upstream_timeout');
    expect(mapUpstreamException({ code: 'UND_ERR_BODY_TIMEOUT' }).status).toBe(504);
    expect(mapUpstreamException({ code: 'UND_ERR_CONNECT_TIMEOUT' }).status).toBe(504);
    expect(mapUpstreamException({ code: 'ECONNREFUSED' }).code).toBe('upstream_error');
  });
});

describe('retry policy', () => {
  const opts = { maxRetries: 2, minDelayMs: 100, maxRetryAfterMs: 2000 };
  const error = (code: string) => ({ error: Object.assign(new Error(code), { code }) });
  const status = (statusCode: number, headers: Record<string, string> = {}) => ({ statusCode, headers });

  it('retries connect errors, 502, 503 and short 429s; never 500 or long 429s; stops after maxRetries', () => {
    expect(retryDelayMs(opts, error('ECONNREFUSED'), 1)).toBe(100);
    expect(retryDelayMs(opts, status(502), 1)).toBe(100);
    expect(retryDelayMs(opts, status(503), 2)).toBe(200);
    expect(retryDelayMs(opts, status(500), 1)).toBeNull();
    expect(retryDelayMs(opts, status(400), 1)).toBeNull();
    expect(retryDelayMs(opts, status(429, { 'retry-after': '1' }), 1)).toBe(1000);
    expect(retryDelayMs(opts, status(429, { 'retry-after': '30' }), 1)).toBeNull();
    expect(retryDelayMs(opts, error('UND_ERR_HEADERS_TIMEOUT'), 1)).toBeNull();
    expect(retryDelayMs(opts, error('UND_ERR_ABORTED'), 1)).toBeNull();
    expect(retryDelayMs(opts, status(503), 3)).toBeNull();
  });

  it('parses retry-after seconds and dates', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(undefined)).toBeNull();
  });
});

describe('stream tap', () => {
  const sse = (events: object[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';

  it('reassembles text, finish reason and usage from chunks split anywhere', () => {
    const body = sse([
      { choices: [{ delta: { role: 'assistant' } }] },
      { choices: [{ delta: { content: 'Hel' } }] },
      { choices: [{ delta: { content: 'lo ✓' } }] },
      { choices: [{ delta: {}, finish_reason: 'stop' }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ]);
    const tap = createReassembler(1 << 20);
    const bytes = Buffer.from(body);
    // split inside a multi-byte character and inside an event
    for (let i = 0; i < bytes.length; i += 7) tap.push(bytes.subarray(i, i + 7));
    expect(tap.finish()).toEqual({
      text: 'Hello ✓',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      streamError: null,
      truncated: false,
      completed: true,
      toolCalls: [],
      responseId: null,
      bytes: bytes.length,
    });
  });

  it('is bounded: past the limit it stops copying and says so', () => {
    const tap = createReassembler(10);
    tap.push(Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'));
    expect(tap.finish().truncated).toBe(true);
    expect(tap.finish().bytes).toBeGreaterThan(10);
  });

  it('picks up an in-stream error event', () => {
    expect(parseChatSse(sse([{ error: { message: 'boom' } }])).streamError).toBe('boom');
  });
});

describe('provider routing', () => {
  const fake = (id: string) => ({ id }) as unknown as Provider;
  it('routes provider/model to a registered provider, anything else to the first one', () => {
    const reg = new ProviderRegistry().register(fake('openai')).register(fake('other'));
    expect(reg.route('gpt-4o')).toMatchObject({ provider: { id: 'openai' }, model: 'gpt-4o' });
    expect(reg.route('other/llama-3')).toMatchObject({ provider: { id: 'other' }, model: 'llama-3' });
    expect(reg.route('meta-llama/Llama-3-8b')).toMatchObject({ provider: { id: 'openai' }, model: 'meta-llama/Llama-3-8b' });
  });
});

describe('PAT format, durations, redaction', () => {
  it('generated PATs validate; any single-character change fails the checksum', () => {
    const { token } = generatePat();
    expect(isWellFormedPat(token)).toBe(true);
    for (let i = 9; i < token.length; i += 5) {
      const c = token[i] === 'a' ? 'b' : 'a';
      expect(isWellFormedPat(token.slice(0, i) + c + token.slice(i + 1))).toBe(false);
    }
    expect(isWellFormedPat('ibex_pat_')).toBe(false);
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeNull();
  });

  it('durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('0s')).toBeNull();
  });

  it('redact masks PATs, provider keys, bearer values and URL passwords', () => {
    const { token } = generatePat();
    const out = redact(`token ${token} key sk-abcdefghijklmnop auth Bearer xyz url postgres://u:secret@h/db`);
    expect(out).not.toContain(token);
    expect(out).not.toContain('sk-abcdefghijklmnop');
    expect(out).not.toContain('secret');
    expect(out).not.toContain('xyz');
  });
});
