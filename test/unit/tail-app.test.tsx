import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { TailApp } from '../../src/ui/tail/TailApp.js';
import { TailEmitter } from '../../src/tail/feed.js';
import type { Trace } from '../../src/stores/ports.js';

let seq = 0;
function makeTrace(over: Partial<Trace> = {}): Trace {
  seq++;
  return {
    requestId: `req-${seq}`, clientRequestId: null, sessionId: `sess${seq}-0123456789`, agent: 'alpha', patId: 'pat', model: 'gpt-4o-mini',
    provider: 'openai', stream: false, status: 200, errorCode: null, startedAt: Date.now(), totalMs: 40,
    upstreamTtfbMs: 30, upstreamMs: 39, overheadMs: 0.42, stages: {}, promptTokens: 10, completionTokens: 5,
    totalTokens: 15, cachedTokens: null, reasoningTokens: null, costUsd: null, bytesIn: 1, bytesOut: 1, directiveVersion: 1, ...over,
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

function setup(extra: { agent?: string; height?: number; now?: () => number } = {}) {
  const feed = new TailEmitter();
  const onExit = vi.fn();
  const app = render(<TailApp url="http://127.0.0.1:9999" feed={feed} onExit={onExit} renderIntervalMs={5} {...extra} />);
  return { feed, onExit, ...app };
}

afterEach(() => cleanup());

describe('TailApp', () => {
  it('shows the URL, connection state and waits for requests', async () => {
    const { feed, lastFrame } = setup();
    expect(lastFrame()).toContain('http://127.0.0.1:9999');
    expect(lastFrame()).toContain('connecting');
    expect(lastFrame()).toContain('waiting for requests');
    feed.status({ state: 'connected' });
    await until(lastFrame, (f) => f.includes('● connected'));
    feed.status({ state: 'disconnected', reason: 'ECONNREFUSED', retryInMs: 500 });
    await until(lastFrame, (f) => f.includes('disconnected (ECONNREFUSED, retrying in 0.5s)'));
  });

  it('renders rows newest first with agent, short session, model, status, latency, overhead and tokens', async () => {
    const { feed, lastFrame } = setup();
    feed.trace(makeTrace({ requestId: 'old', agent: 'first-agent', totalMs: 1234, totalTokens: 99 }));
    feed.trace(makeTrace({ requestId: 'new', agent: 'second-agent', sessionId: 'abcdef123456', status: 502, errorCode: 'upstream_error' }));
    const frame = await until(lastFrame, (f) => f.includes('second-agent'));
    const lines = frame.split('\n');
    const newer = lines.findIndex((l) => l.includes('second-agent'));
    const older = lines.findIndex((l) => l.includes('first-agent'));
    expect(newer).toBeGreaterThan(-1);
    expect(newer).toBeLessThan(older);
    expect(lines[newer]).toMatch(/abcdef12 +gpt-4o-mini +502 +upstream_error +40\.0 +0\.42 +15/);
    expect(lines[newer]).not.toContain('abcdef123'); // session shortened to 8 chars
    expect(lines[older]).toMatch(/1234 +0\.42 +99/);
    expect(frame).toMatch(/AGENT +SESSION +MODEL +HTTP +ERROR +LAT ms +OVH ms +TOKENS/);
  });

  it("shows the caller's X-Request-Id in its own column, '-' when the caller sent none", async () => {
    const { feed, lastFrame } = setup();
    feed.trace(makeTrace({ agent: 'with-id', clientRequestId: 'user-42', totalTokens: 7 }));
    feed.trace(makeTrace({ agent: 'without-id', totalTokens: 8 }));
    feed.trace(makeTrace({ agent: 'long-id', clientRequestId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479', totalTokens: 9 }));
    const frame = await until(lastFrame, (f) => f.includes('with-id') && f.includes('without-id') && f.includes('long-id'));
    expect(frame).toMatch(/TOKENS +COST \$/);
    expect(frame).toContain("REQUEST ID"); // the test terminal is 100 columns wide: the header wraps there
    const line = (agent: string) => frame.split('\n').find((l) => l.includes(agent))!;
    // At the test terminal's 100 columns the row ends inside the request id column: its start is enough.
    expect(line('with-id')).toMatch(/ 7 +- user/);
    expect(line('without-id')).toMatch(/ 8 +- -/);
    expect(line('long-id')).toMatch(/ 9 +- f47a/); // the full id is in --json and the detail view
  });

  it('computes the header numbers over the last minute', async () => {
    let now = 1_000_000;
    const { feed, lastFrame } = setup({ now: () => now });
    now += 10_000; // watched for 10 s
    for (let i = 0; i < 20; i++) feed.trace(makeTrace({ totalMs: i === 19 ? 900 : 10, status: i < 5 ? 500 : 200 }));
    const frame = await until(lastFrame, (f) => f.includes('req/s 2.0'));
    expect(frame).toContain('errors 25%');
    expect(frame).toContain('p99 900 ms');
    now += 61_000; // a minute later, with no traffic, the window is empty
    await until(lastFrame, (f) => f.includes('req/s 0.0') && f.includes('p99 -'), 2500);
  });

  it('fits the table to the terminal height', async () => {
    const { feed, lastFrame } = setup({ height: 10 });
    for (let i = 0; i < 30; i++) feed.trace(makeTrace({ agent: `agent-${i}` }));
    const frame = await until(lastFrame, (f) => f.includes('agent-29'));
    expect(frame.split('\n').filter((l) => /agent-\d+/.test(l))).toHaveLength(4);
    expect(frame.split('\n').length).toBeLessThanOrEqual(10);
    expect(frame).not.toContain('agent-25 ');
  });

  it('pause freezes the table while counting new events; resume shows them', async () => {
    const { feed, lastFrame, stdin } = setup();
    feed.trace(makeTrace({ agent: 'before-pause' }));
    await until(lastFrame, (f) => f.includes('before-pause'));
    stdin.write('p');
    await until(lastFrame, (f) => f.includes('PAUSED (+0 new)'));
    feed.trace(makeTrace({ agent: 'during-pause' }));
    feed.trace(makeTrace({ agent: 'during-pause' }));
    const paused = await until(lastFrame, (f) => f.includes('PAUSED (+2 new)'));
    expect(paused).not.toContain('during-pause');
    stdin.write(' ');
    const resumed = await until(lastFrame, (f) => f.includes('during-pause'));
    expect(resumed).not.toContain('PAUSED');
  });

  it('a cycles the agent filter through seen agents, c clears it', async () => {
    const { feed, lastFrame, stdin } = setup();
    feed.trace(makeTrace({ agent: 'alpha', model: 'model-a' }));
    feed.trace(makeTrace({ agent: 'beta', model: 'model-b' }));
    await until(lastFrame, (f) => f.includes('model-b') && f.includes('model-a'));
    stdin.write('a');
    let frame = await until(lastFrame, (f) => f.includes('filter alpha'));
    expect(frame).toContain('model-a');
    expect(frame).not.toContain('model-b');
    stdin.write('a');
    frame = await until(lastFrame, (f) => f.includes('filter beta'));
    expect(frame).not.toContain('model-a');
    stdin.write('c');
    frame = await until(lastFrame, (f) => f.includes('filter all'));
    expect(frame).toContain('model-a');
    expect(frame).toContain('model-b');
  });

  it('/ lets the user type an agent name; the --agent start filter hides other agents', async () => {
    const { feed, lastFrame, stdin } = setup({ agent: 'beta' });
    feed.trace(makeTrace({ agent: 'alpha', model: 'model-a' }));
    feed.trace(makeTrace({ agent: 'beta', model: 'model-b' }));
    let frame = await until(lastFrame, (f) => f.includes('model-b'));
    expect(frame).toContain('filter beta');
    expect(frame).not.toContain('model-a');
    stdin.write('/');
    await until(lastFrame, (f) => f.includes('agent filter:'));
    for (const ch of 'alphx') stdin.write(ch);
    stdin.write('\x7f'); // backspace
    stdin.write('a');
    await until(lastFrame, (f) => f.includes('agent filter: alpha'));
    stdin.write('\r');
    frame = await until(lastFrame, (f) => f.includes('filter alpha'));
    expect(frame).toContain('model-a');
    expect(frame).not.toContain('model-b');
  });

  it('shows events the gateway dropped for this client', async () => {
    const { feed, lastFrame } = setup();
    feed.dropped(3);
    feed.dropped(4);
    await until(lastFrame, (f) => f.includes('dropped 7'));
  });

  it('q quits', async () => {
    const { lastFrame, stdin, onExit } = setup();
    await until(lastFrame, (f) => f.includes('q quit'));
    stdin.write('x');
    await tick();
    expect(onExit).not.toHaveBeenCalled();
    stdin.write('q');
    await tick();
    expect(onExit).toHaveBeenCalledTimes(1);
  });
});

describe('TailApp cost', () => {
  it(`shows each request's cost, "-" when unknown, and a running total in the header`, async () => {
    const { feed, lastFrame } = setup();
    feed.trace(makeTrace({ agent: 'priced-a', costUsd: 0.0015, totalTokens: 11 }));
    feed.trace(makeTrace({ agent: 'priced-b', costUsd: 0.0025, totalTokens: 12 }));
    feed.trace(makeTrace({ agent: 'unpriced', costUsd: null, totalTokens: 13 }));
    const frame = await until(lastFrame, (f) => f.includes('unpriced'));
    const line = (agent: string) => frame.split('\n').find((l) => l.includes(agent))!;
    expect(line('priced-a')).toMatch(/ 11 +0\.001500 /);
    expect(line('unpriced')).toMatch(/ 13 +- /);
    expect(frame).toContain('cost $0.004000');
  });
});
