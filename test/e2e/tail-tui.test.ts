// `ibex tail` in a real terminal (tmux, 80 × 24) against a real gateway: the request view with error
// codes and the stream marker, Enter for a trace, `s` for live sessions, Enter for a session's
// conversation read from the store, Esc back, q quit. Keys go through tmux send-keys, frames come
// back through capture-pane.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { BIN, provision, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import type { RecordedRequest } from '../../src/mock/server.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Our own tmux server (socket), so nothing of the user's tmux is touched.
const SOCKET = `ibex-tail-e2e-${process.pid}`;
const SESSION = 'tail';
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
const keys = (...k: string[]) => tmux('send-keys', '-t', SESSION, ...k);

async function until(pred: (s: string) => boolean, what: string, ms = 10_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    let s = '';
    try {
      s = screen();
    } catch {
      // the pane is gone (the program quit)
      s = '';
    }
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`screen never showed ${what}:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function faults(req: RecordedRequest) {
  const msgs = (req.body?.messages ?? []) as { content?: unknown }[];
  return msgs[msgs.length - 1]?.content === 'please fail' ? { fail: 500 } : undefined;
}

describe.skipIf(!hasTmux)('ibex tail in a terminal (tmux)', () => {
  let gw: TestGateway;
  let token: string;

  const chat = async (content: string, opts: { session?: string; stream?: boolean } = {}) => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(opts.session ? { 'x-ibex-session': opts.session } : {}),
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: !!opts.stream, messages: [{ role: 'user', content }] }),
    });
    await r.body.dump();
    return r.statusCode;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ mock: { faults } });
    ({ token } = await provision(gw, 'tui', { directive: 'Be a terse terminal.' }));
    const port = new URL(gw.url).port;
    // CI=false: Ink renders nothing but the last frame when it believes it runs in CI (is-in-ci), and
    // this test runs under CI=true; the tail in the tmux pane is an interactive terminal all the same.
    const env = Object.entries({ ...gw.env, IBEX_PORT: port, IBEX_HOST: '127.0.0.1', CI: 'false' }).map(([k, v]) => `${k}=${v}`);
    // No --url: the tail finds the gateway by IBEX_HOST/IBEX_PORT and reads sessions from IBEX_HOME's store.
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', 'env', ...env, 'node', BIN, 'tail');
    await until((s) => s.includes('● connected'), 'connected');
  });
  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    await gw?.stop();
  });

  it('shows requests with error code and stream marker, at 80 columns', async () => {
    expect(await chat('first turn', { session: 'tui-ses-1' })).toBe(200);
    expect(await chat('second turn', { session: 'tui-ses-1', stream: true })).toBe(200);
    expect(await chat('please fail')).toBe(502);
    const s = await until((x) => x.includes('upstream_error') && /200~/.test(x), 'three rows');
    expect(s).toMatch(/HTTP ERROR +LAT ms OVH ms TOKENS/);
    expect(s).toMatch(/tui +\S+ +gpt-4o-mini 502 +upstream_error/);
    expect(s).toMatch(/tui +tui-ses- +gpt-4o-mini 200~/);
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('Enter opens the newest request\'s trace; Escape goes back', async () => {
    keys('Enter');
    const s = await until((x) => x.includes('request id'), 'the trace view');
    expect(s).toMatch(/status +502 upstream_error/);
    expect(s).toMatch(/stages ms +auth/);
    keys('Escape');
    await until((x) => x.includes('REQUEST ID') || x.includes('TOKENS'), 'the request list');
  });

  it('s shows live sessions; Enter opens a conversation from the store as it grows', async () => {
    keys('s');
    let s = await until((x) => x.includes('TURNS') && x.includes('tui-ses-1'), 'the sessions view');
    expect(s).toMatch(/tui-ses-1 +tui +v1 +2 +0 +\d+ +\S+ +\d\d:\d\d:\d\d 200/); // the cost column: `-` or USD
    // the failed request's generated session is the newest; move down to tui-ses-1
    const rows = s.split('\n').filter((l) => /^(ses_|tui-ses-1)/.test(l));
    for (let i = 0; i <= rows.findIndex((l) => l.startsWith('tui-ses-1')); i++) keys('Down');
    keys('Enter');
    s = await until((x) => x.includes('session tui-ses-1') && x.includes('second turn'), 'the conversation');
    expect(s).toContain('directive v1: Be a terse terminal.');
    expect(s).toContain('user: first turn');
    expect(s).toMatch(/turn 2 · ok · stream/);
    expect(s).toMatch(/assistant: echo:/);

    await chat('third turn', { session: 'tui-ses-1' });
    s = await until((x) => x.includes('user: third turn'), 'the new turn');
    expect(s).toMatch(/turn 3 · ok/);
    keys('Escape');
    await until((x) => x.includes('TURNS'), 'back to sessions');
  });

  it('q quits', async () => {
    keys('q');
    await until((x) => x === '' || !x.includes('ibex tail'), 'the program gone');
  });
});
