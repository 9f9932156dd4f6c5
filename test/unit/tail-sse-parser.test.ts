import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/tail/sse-parser.js';

function parseAll(chunks: string[]) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser((e) => events.push(e), (c) => comments.push(c));
  for (const c of chunks) p.push(c);
  return { events, comments };
}

describe('SseParser', () => {
  const wire = ': connected\n\nevent: trace\ndata: {"a":1}\n\n: ping\n\nevent: dropped\ndata: {"count":3}\n\n';

  it('parses named events and comments', () => {
    const { events, comments } = parseAll([wire]);
    expect(events).toEqual([
      { event: 'trace', data: '{"a":1}' },
      { event: 'dropped', data: '{"count":3}' },
    ]);
    expect(comments).toEqual(['connected', 'ping']);
  });

  it('gives the same result however the stream is cut', () => {
    const whole = parseAll([wire]).events;
    for (let cut = 1; cut < wire.length; cut++) {
      expect(parseAll([wire.slice(0, cut), wire.slice(cut)]).events).toEqual(whole);
    }
    expect(parseAll(wire.split('')).events).toEqual(whole);
  });

  it('accepts CRLF and CR line endings, also split between chunks', () => {
    const crlf = wire.replace(/\n/g, '\r\n');
    const expected = parseAll([wire]).events;
    expect(parseAll([crlf]).events).toEqual(expected);
    expect(parseAll(crlf.split('')).events).toEqual(expected);
    expect(parseAll([wire.replace(/\n/g, '\r')]).events).toEqual(expected);
  });

  it('joins multi-line data, defaults the event name, ignores data-less blocks', () => {
    const { events } = parseAll(['data: one\ndata:two\nid: 7\n\nevent: x\n\nretry: 10\n\n']);
    expect(events).toEqual([{ event: 'message', data: 'one\ntwo', id: '7' }]);
  });

  it('does not emit an event until its blank line arrives', () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e));
    p.push('event: trace\ndata: {}\n');
    expect(events).toHaveLength(0);
    p.reset();
    p.push('\n');
    expect(events).toHaveLength(0);
  });
});
