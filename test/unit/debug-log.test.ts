import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RequestDebugLog, debugLogPath } from '../../src/debug-log/index.js';
import { printLog } from '../../src/debug-log/follow.js';
import { registerSecret } from '../../src/log.js';

const settle = (log: RequestDebugLog) => log.close();

describe('request debug log', () => {
  it('is off unless IBEX_DEBUG_REQUESTS is set', () => {
    expect(debugLogPath({}, '/h')).toBeNull();
    expect(debugLogPath({ IBEX_DEBUG_REQUESTS: '1' }, '/h')).toBe('/h/logs/requests.jsonl');
    expect(debugLogPath({ IBEX_DEBUG_REQUESTS: '/tmp/x.jsonl' }, '/h')).toBe('/tmp/x.jsonl');
  });

  it('writes JSONL with secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-dbg-'));
    registerSecret('sk-registered-secret-value-123');
    const log = new RequestDebugLog(join(dir, 'r.jsonl'));
    log.write({ request: { messages: [{ role: 'user', content: 'token ibex_pat_abcdefghijklmnop and sk-registered-secret-value-123' }] } });
    await settle(log);
    const line = readFileSync(join(dir, 'r.jsonl'), 'utf8');
    expect(line.endsWith('\n')).toBe(true);
    expect(line).not.toContain('abcdefghijklmnop');
    expect(line).not.toContain('sk-registered-secret-value-123');
    expect(JSON.parse(line).request.messages[0].content).toContain('ibex_pat_***');
  });

  it('rotates by size and the reader prints old files first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-dbg-'));
    const path = join(dir, 'r.jsonl');
    const log = new RequestDebugLog(path, { maxBytes: 200, keep: 2 });
    for (let i = 0; i < 12; i++) log.write({ n: i, pad: 'x'.repeat(40) });
    await settle(log);
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    let out = '';
    await printLog(path, (s) => (out += s), false);
    const ns = out.trim().split('\n').map((l) => JSON.parse(l).n);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
    expect(ns.at(-1)).toBe(11);
    expect(readFileSync(path, 'utf8').length).toBeLessThanOrEqual(200);
  });

  it('follow prints lines written later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-dbg-'));
    const path = join(dir, 'r.jsonl');
    const log = new RequestDebugLog(path);
    log.write({ n: 1 });
    const ac = new AbortController();
    let out = '';
    const done = printLog(path, (s) => (out += s), true, { intervalMs: 20, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 60));
    log.write({ n: 2 });
    await new Promise((r) => setTimeout(r, 150));
    ac.abort();
    await done;
    await settle(log);
    expect(out.trim().split('\n').map((l) => JSON.parse(l).n)).toEqual([1, 2]);
  });
});
