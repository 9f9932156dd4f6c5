// The text cleaning every store adapter applies (src/stores/store-text.ts): what it replaces, what it
// keeps byte for byte, and that it is the same for text and for a JSON text of the same strings.
import { messageText } from '../../src/ledger/message-body.js';
import { describe, expect, it } from 'vitest';
import { storeJson, storeText, storeTextOrNull } from '../../src/stores/store-text.js';
import { checkpointParams } from '../../src/stores/sql/sessions.js';
import { TRACE_COLUMNS, traceParams } from '../../src/stores/sql/traces.js';
import { toRow } from '../../src/stores/clickhouse/rows.js';
import { makeTrace } from '../helpers/traces.js';
import type { CheckpointInput } from '../../src/stores/ports.js';

const R = '\uFFFD';

describe('storeText', () => {
  it('replaces NUL and lone surrogates (high, low, reversed pair) with U+FFFD', () => {
    expect(storeText('a\u0000b')).toBe(`a${R}b`);
    expect(storeText('\u0000\u0000')).toBe(R + R);
    expect(storeText('a\ud800b')).toBe(`a${R}b`);
    expect(storeText('a\udc00')).toBe(`a${R}`);
    expect(storeText('\ud800')).toBe(R);
    expect(storeText('\udc00\ud800')).toBe(R + R);
    expect(storeText('x\ud83d\ud83d\ude00')).toBe(`x${R}\ud83d\ude00`);
  });

  it('keeps everything else, valid surrogate pairs included, and returns the very same string when clean', () => {
    for (const s of ['', 'plain', 'emoji \ud83d\ude00 ok', 'ctrl \u0001\u001b[2J\t\n', 'é中文', '\\u0000 as text']) {
      expect(storeText(s)).toBe(s);
    }
  });

  it('storeTextOrNull keeps null and undefined as null, and makes non-strings text', () => {
    expect(storeTextOrNull(null)).toBeNull();
    expect(storeTextOrNull(undefined)).toBeNull();
    expect(storeTextOrNull('m\u0000')).toBe(`m${R}`);
    expect(storeTextOrNull(42 as unknown as string)).toBe('42');
  });
});

describe('storeJson', () => {
  const values: unknown[] = [
    [{ role: 'user', content: 'a\u0000b' }],
    { s: 'lone \ud800 high', t: 'lone \udfff low', pair: 'ok \ud83d\ude00', k: ['\u0000', '\u0001'] },
    { 'key\u0000': 'v', nested: { deeper: ['x\ud800\u0000'] } },
    ['a backslash then u0000: \\u0000', 'two backslashes \\\\u0000', '\\\u0000'],
    'just a string \ud800',
    { clean: 'nothing to do', n: 1, b: true, z: null },
  ];

  it('parses to the value with storeText applied to every string (keys too)', () => {
    const clean = (v: unknown): unknown =>
      typeof v === 'string'
        ? storeText(v)
        : Array.isArray(v)
          ? v.map(clean)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [storeText(k), clean(x)]))
            : v;
    for (const v of values) expect(JSON.parse(storeJson(JSON.stringify(v)))).toEqual(clean(v));
  });

  it('leaves no escape Postgres jsonb refuses, and keeps an escaped valid pair', () => {
    for (const v of values) expect(storeJson(JSON.stringify(v))).not.toMatch(/(^|[^\\])(\\\\)*\\u(0000|d[89a-f])/i);
    expect(storeJson('["\\ud83d\\ude00"]')).toBe('["\\ud83d\\ude00"]');
    expect(storeJson('["\\uD800x"]')).toBe('["\\ufffdx"]');
  });

  it('returns the very same string when there is nothing to clean', () => {
    const text = JSON.stringify({ a: 'x\u0001y', b: '\\u0000 is text here', c: '\ud83d\ude00' });
    expect(storeJson(text)).toBe(text);
  });
});

describe('every row builder cleans its text', () => {
  const poison = 'm\u0000\ud800';
  const cleaned = `m${R}${R}`;

  it('checkpoint params (SQLite and Postgres)', () => {
    const c: CheckpointInput = {
      sessionId: 's1', agent: 'a', patId: 'p', requestId: 'r\u0000', clientRequestId: null, model: poison, directiveVersion: 1,
      messages: [{ role: 'user', content: poison }], reply: poison, finishReason: poison,
      usage: null, costUsd: null, status: 'ok', errorCode: poison, stream: false, createdAt: 1,
    };
    const params = checkpointParams('s1', 1, c, { bool: (b) => b, reply: (s) => s, refs: (r) => JSON.stringify(r) }, []);
    expect(params).toContain(cleaned);
    expect(params.filter((v) => v === cleaned)).toHaveLength(4); // model, reply, finish reason, error code
    expect(params[2]).toBe(`r${R}`);
    // The messages themselves go to the ledger, cleaned by the same module.
    expect(JSON.parse(messageText(c.messages[0]))).toEqual({ role: 'user', content: cleaned });
    expect(JSON.stringify(params)).not.toMatch(/\\u0000|\\ud8/);
  });

  it('trace params (SQLite and Postgres)', () => {
    const params = traceParams(makeTrace({ model: poison, provider: poison, errorCode: poison, agent: poison }), { bool: (b) => b });
    const at = (c: string) => params[TRACE_COLUMNS.indexOf(c as never)];
    for (const c of ['model', 'provider', 'error_code', 'agent']) expect(at(c)).toBe(cleaned);
  });

  it('ClickHouse rows', () => {
    const row = toRow(makeTrace({ model: poison, sessionId: poison, stages: { [poison]: 1 } }));
    expect(row.model).toBe(cleaned);
    expect(row.session_id).toBe(cleaned);
    expect(row.stage_names).toEqual([cleaned]);
  });
});
