// The sessions view, the drill-downs and the 80-column layout of `ibex tail` (issue 15).
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { TailApp } from '../../src/ui/tail/TailApp.js';
import { TailEmitter } from '../../src/tail/feed.js';
import { conversationLines, headerCells, columnsFor, sessionHeaderCells } from '../../src/ui/tail/format.js';
import type { Checkpoint, Trace } from '../../src/stores/ports.js';

let seq = 0;
function trace(over: Partial<Trace> = {}): Trace {
  seq++;
  return {
    requestId: `req-${seq}`, clientRequestId: null, sessionId: `ses_${seq}`, agent: 'alpha', patId: 'pat', model: 'gpt-4o-mini',
    provider: 'openai', stream: false, status: 200, errorCode: null, startedAt: Date.now(), totalMs: 40,
    upstreamTtfbMs: 30, upstreamMs: 39, overheadMs: 0.42, stages: { auth: 0.1, directive: 0.05 }, promptTokens: 10,
    completionTokens: 5, totalTokens: 15, cachedTokens: null, reasoningTokens: null, costUsd: null, bytesIn: 1, bytesOut: 1,
    directiveVersion: 1, ...over,
  };
}

function checkpoint(seqNo: number, messages: unknown[], reply: string | null, over: Partial<Checkpoint> = {}): Checkpoint {
  return {
    sessionId: 'ses_chat', agent: 'alpha', patId: 'p', requestId: `r${seqNo}`, clientRequestId: null, model: 'm', directiveVersion: 2,
    messages, reply, finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 }, costUsd: null, status: 'ok',
    errorCode: null, stream: false, createdAt: Date.now(), seq: seqNo, ...over,
  };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
async function until(frame: () => string | undefined, pred: (f: string) => boolean, ms = 2000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const f = frame() ?? '';
    if (pred(f)) return f;
    if (Date.now() > end) throw new Error(`frame never matched:\n${f}`);
    await tick(10);
  }
}
const DOWN = '\u001B[B';
const ESC = '\u001B';

function setup(extra: Partial<Parameters<typeof TailApp>[0]> = {}) {
  const feed = new TailEmitter();
  const app = render(<TailApp url="http://gw" feed={feed} renderIntervalMs={5} sessionRefreshMs={50} {...extra} />);
  return { feed, ...app };
}

afterEach(() => cleanup());

describe('tail at 80 columns', () => {
  it('every request column up to TOKENS and every session column fits in 80', () => {
    const header = headerCells(columnsFor(80));
    expect(header.slice(0, 80).trimEnd()).toMatch(/TIME +AGENT +SESSION +MODEL +HTTP +ERROR +LAT ms +OVH ms +TOKENS$/);
    expect(sessionHeaderCells().length).toBeLessThanOrEqual(80);
    // a wider terminal shows the cost and the request id whole, then widens agent and error
    expect(headerCells(columnsFor(104))).toMatch(/TOKENS +COST \$ REQUEST ID +$/);
    expect(columnsFor(120).agent.width).toBeGreaterThan(columnsFor(80).agent.width);
  });

  it('a request row shows the error code and a stream marker', async () => {
    const { feed, lastFrame } = setup({ width: 80 });
    feed.trace(trace({ agent: 'streamer', stream: true }));
    feed.trace(trace({ agent: 'failing', status: 504, errorCode: 'upstream_timeout' }));
    const frame = await until(lastFrame, (f) => f.includes('failing') && f.includes('streamer'));
    const line = (a: string) => frame.split('\n').find((l) => l.includes(a))!;
    expect(line('streamer')).toMatch(/ 200~ /);
    expect(line('failing')).toMatch(/ 504 +upstream_time… /); // cut to the column: the full code is in the detail view
    expect(line('failing').indexOf('504')).toBeLessThan(80);
  });
});

describe('tail drill-down and sessions view', () => {
  it('↓ and Enter open a request\'s trace; Esc goes back', async () => {
    const { feed, lastFrame, stdin } = setup();
    feed.trace(trace({ requestId: 'req-older', agent: 'older' }));
    feed.trace(trace({ requestId: 'req-newer', agent: 'newer', status: 429, errorCode: 'rate_limit_exceeded', clientRequestId: 'user-7' }));
    await until(lastFrame, (f) => f.includes('newer'));
    stdin.write(DOWN); // selects the newest
    stdin.write(DOWN); // then the next one down
    await tick();
    stdin.write('\r');
    let frame = await until(lastFrame, (f) => f.includes('request req-older'));
    expect(frame).toContain('stages ms');
    expect(frame).toMatch(/directive +v1/);
    stdin.write(ESC);
    await until(lastFrame, (f) => f.includes('REQUEST ID'));
    stdin.write('k'); // the selection stayed on the older row: up to the newer one
    await tick();
    stdin.write('\r');
    frame = await until(lastFrame, (f) => f.includes('request req-newer'));
    expect(frame).toMatch(/status +429 rate_limit_exceeded/);
    expect(frame).toMatch(/X-Request-Id +user-7/);
  });

  it('s switches to live sessions: agent, directive version, turns, tokens, last status, updating', async () => {
    const { feed, lastFrame, stdin } = setup();
    feed.trace(trace({ sessionId: 'ses_one', agent: 'support', directiveVersion: 3, totalTokens: 10 }));
    feed.trace(trace({ sessionId: 'ses_two', agent: 'billing', directiveVersion: 1, totalTokens: 7 }));
    feed.trace(trace({ sessionId: 'ses_one', agent: 'support', directiveVersion: 3, totalTokens: 20 }));
    await until(lastFrame, (f) => f.includes('billing'));
    stdin.write('s');
    let frame = await until(lastFrame, (f) => f.includes('SESSION') && f.includes('TURNS'));
    const line = (id: string) => frame.split('\n').find((l) => l.startsWith(id))!;
    expect(line('ses_one')).toMatch(/^ses_one +support +v3 +2 +0 +30 +- +\d\d:\d\d:\d\d 200/);
    expect(line('ses_two')).toMatch(/billing +v1 +1 +0 +7 /);
    // most recently active first
    expect(frame.indexOf('ses_one')).toBeLessThan(frame.indexOf('ses_two'));
    feed.trace(trace({ sessionId: 'ses_two', agent: 'billing', directiveVersion: 1, totalTokens: 5, status: 502, errorCode: 'upstream_error' }));
    frame = await until(lastFrame, (f) => /ses_two +billing +v1 +2 +1 +12 /.test(f));
    expect(frame.indexOf('ses_two')).toBeLessThan(frame.indexOf('ses_one'));
    stdin.write('s');
    await until(lastFrame, (f) => f.includes('REQUEST ID'));
  });

  it('Enter on a session shows its conversation from the store, growing as turns are checkpointed', async () => {
    const directive = { role: 'system', content: 'You are terse.' };
    const user1 = { role: 'user', content: 'weather in Paris?' };
    const toolCall = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] };
    const toolReply = { role: 'tool', tool_call_id: 'c1', content: '18C' };
    let stored: Checkpoint[] = [checkpoint(1, [directive, user1], null, { status: 'ok' })];
    const { feed, lastFrame, stdin } = setup({ view: 'sessions', loadSession: async (id) => (id === 'ses_chat' ? stored : []) });
    feed.trace(trace({ sessionId: 'ses_chat', directiveVersion: 2 }));
    await until(lastFrame, (f) => f.includes('ses_chat'));
    stdin.write('\r');
    let frame = await until(lastFrame, (f) => f.includes('weather in Paris?'));
    expect(frame).toContain('session ses_chat');
    expect(frame).toContain('directive v2: You are terse.');
    expect(frame).toContain('turn 1 · ok');

    stored = [
      ...stored,
      checkpoint(2, [directive, user1, toolCall, toolReply], 'It is 18C in Paris.', { status: 'upstream_error', errorCode: 'upstream_error', reply: 'It is 18C in Paris.' }),
    ];
    frame = await until(lastFrame, (f) => f.includes('It is 18C in Paris.'));
    expect(frame).toContain('assistant → get_weather({"city":"Paris"})');
    expect(frame).toContain('tool c1: 18C');
    expect(frame).toContain('turn 2 · upstream_error upstream_error');
    expect(frame.match(/directive v2/g)).toHaveLength(1);
    stdin.write(ESC);
    await until(lastFrame, (f) => f.includes('TURNS'));
  });

  it('without the store (--url) a session shows the turns the events carried', async () => {
    const { feed, lastFrame, stdin } = setup({ view: 'sessions' });
    feed.trace(trace({ sessionId: 'ses_ev', directiveVersion: 4, totalTokens: 9, stream: true }));
    feed.trace(trace({ sessionId: 'ses_ev', directiveVersion: 4, status: 504, errorCode: 'upstream_timeout' }));
    await until(lastFrame, (f) => f.includes('ses_ev'));
    stdin.write('\r');
    const frame = await until(lastFrame, (f) => f.includes('turn 2'));
    expect(frame).toContain('live events only');
    expect(frame).toMatch(/turn 1 · 200 · stream · v4 · 9 tokens/);
    expect(frame).toMatch(/turn 2 · 504 upstream_timeout · v4/);
  });
});

describe('conversationLines', () => {
  it('shows each turn\'s new messages once, even when a client does not resend the history', () => {
    const d = { role: 'system', content: 'D' };
    const lines = conversationLines([
      checkpoint(1, [d, { role: 'user', content: [{ type: 'text', text: 'hello' }] }], 'hi there'),
      checkpoint(2, [d, { role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi there' }, { role: 'user', content: 'again' }], 'ok'),
      checkpoint(3, [d, { role: 'user', content: 'fresh start' }], 'sure', { directiveVersion: 3 }),
    ]).map((l) => l.text);
    expect(lines.filter((l) => l === 'user: hello')).toHaveLength(1);
    expect(lines).toContain('user: again');
    expect(lines).toContain('user: fresh start');
    expect(lines).toContain('directive v3: D');
    expect(lines.filter((l) => l.startsWith('assistant: '))).toEqual(['assistant: hi there', 'assistant: ok', 'assistant: sure']);
  });
});
