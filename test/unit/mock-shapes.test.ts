// Pure parts of the mock upstream: wire shapes, content splitting, header faults, seeded sampling.
import { describe, expect, it } from 'vitest';
import { completionBody, echoContent, errorBody, splitContent, streamEvents, usageFor } from '../../src/mock/openai-shapes.js';
import { applyHeaderFaults, MockRequestError, seededRandom, type RequestFaults } from '../../src/mock/faults.js';

const base = (): RequestFaults => ({ latencyMs: 1, ttfbMs: 2, chunks: 5, chunkIntervalMs: 3, stallMs: 0, gzip: false });

describe('splitContent', () => {
  it('returns exactly n pieces that concatenate to the input', () => {
    for (const text of ['', 'a', 'echo:[]', 'x'.repeat(101)]) {
      for (const n of [1, 2, 5, 7, 200]) {
        const pieces = splitContent(text, n);
        expect(pieces).toHaveLength(n);
        expect(pieces.join('')).toBe(text);
      }
    }
  });

  it('spreads the text evenly', () => {
    expect(splitContent('abcdefghij', 5)).toEqual(['ab', 'cd', 'ef', 'gh', 'ij']);
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const text = '😀😀😀';
    const pieces = splitContent(text, 3); // naive cuts at 2 and 4 are fine; try odd ones
    expect(pieces.join('')).toBe(text);
    for (const n of [2, 4, 5]) {
      for (const p of splitContent(text, n)) expect(p.length % 2).toBe(0);
    }
  });
});

describe('stream events', () => {
  it('are valid JSON chunks in OpenAI order, usage only when asked', () => {
    const content = echoContent([{ role: 'user', content: 'hi "there"' }]);
    for (const includeUsage of [false, true]) {
      const ev = streamEvents('chatcmpl-x', 1700000000, 'gpt-"q"', content, 3, includeUsage);
      const events = (ev.role + ev.contents.join('') + ev.tail).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks[0].model).toBe('gpt-"q"');
      expect(chunks.slice(1, 4).map((c) => c.choices[0].delta.content).join('')).toBe(content);
      expect(chunks[4].choices[0].finish_reason).toBe('stop');
      if (includeUsage) {
        expect(chunks).toHaveLength(6);
        expect(chunks[5]).toMatchObject({ choices: [], usage: usageFor(content) });
      } else {
        expect(chunks).toHaveLength(5);
      }
    }
  });

  it('a completion body carries the content and deterministic usage', () => {
    const content = echoContent([{ role: 'user', content: 'abc' }]);
    const body = JSON.parse(completionBody('id1', 1, 'm', content));
    expect(body.choices[0].message.content).toBe(content);
    expect(body.usage).toEqual(usageFor(content));
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });
});

describe('errorBody', () => {
  it('maps statuses to OpenAI types and codes', () => {
    expect(errorBody(500).error).toMatchObject({ type: 'server_error', code: null, param: null });
    expect(errorBody(503).error.type).toBe('server_error');
    expect(errorBody(429).error.code).toBe('rate_limit_exceeded');
    expect(errorBody(401).error.code).toBe('invalid_api_key');
    expect(errorBody(400, 'bad', 'messages').error).toEqual({ message: 'bad', type: 'invalid_request_error', code: null, param: 'messages' });
  });
});

describe('applyHeaderFaults', () => {
  it('leaves the options alone without x-mock-* headers', () => {
    expect(applyHeaderFaults(base(), { 'content-type': 'application/json' })).toEqual(base());
  });

  it('applies every header', () => {
    const f = applyHeaderFaults(base(), {
      'x-mock-fail': '429',
      'x-mock-latency': '10',
      'x-mock-ttfb': '20',
      'x-mock-chunks': '7',
      'x-mock-chunk-interval': '30',
      'x-mock-stall': '40',
      'x-mock-reset': 'mid-stream',
      'x-mock-gzip': '1',
    });
    expect(f).toEqual({ fail: 429, latencyMs: 10, ttfbMs: 20, chunks: 7, chunkIntervalMs: 30, stallMs: 40, reset: 'mid-stream', gzip: true });
  });

  it('rejects bad values with a 400 naming the header', () => {
    const bad: Record<string, string> = {
      'x-mock-fail': '200',
      'x-mock-latency': '-1',
      'x-mock-chunks': '0',
      'x-mock-ttfb': '1.5',
      'x-mock-reset': 'later',
      'x-mock-gzip': 'yes',
      'x-mock-stall': '',
    };
    for (const [name, value] of Object.entries(bad)) {
      let caught: unknown;
      try {
        applyHeaderFaults(base(), { [name]: value });
      } catch (err) {
        caught = err;
      }
      expect(caught, name).toBeInstanceOf(MockRequestError);
      expect((caught as MockRequestError).status).toBe(400);
      expect((caught as MockRequestError).param).toBe(name);
    }
  });
});

describe('seededRandom', () => {
  it('repeats for a seed, differs across seeds, stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const sa = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(sa);
    expect(sa.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = sa.reduce((s, x) => s + x, 0) / sa.length;
    expect(mean).toBeGreaterThan(0.3);
    expect(mean).toBeLessThan(0.7);
  });
});
