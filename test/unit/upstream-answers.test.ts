// Issue 11, items 5, 6 and 8 at the unit level: the reply redactor (secrets split across chunks), the
// bounded body reader, stream completeness, and how a request's end is recorded.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactBody, StreamRedactor } from '../../src/pipeline/redact-reply.js';
import { BodyTooLargeError, readAll } from '../../src/pipeline/decode.js';
import { createReassembler } from '../../src/protocols/openai-chat/reassemble.js';
import { RequestContext } from '../../src/pipeline/context.js';
import { buildCheckpoint, buildTrace, markCutByShutdown, UPSTREAM_INCOMPLETE } from '../../src/pipeline/record.js';
import { readyWithin } from '../../src/stores/factory.js';

const KEY = 'sk-unit-secret-0123456789abcdef';
const ADMIN = 'ibex_admin_unitadmintoken';
const secrets = [Buffer.from(KEY), Buffer.from(ADMIN)];

describe('reply redaction', () => {
  it('a body without a secret is passed on as the same buffer (no copy)', () => {
    const buf = Buffer.from('{"choices":[{"message":{"content":"sk-not-it, Bearer abc"}}]}');
    expect(redactBody(buf, secrets)).toBe(buf);
  });

  it('masks every occurrence of every secret in a body', () => {
    const out = redactBody(Buffer.from(`{"a":"${KEY}","b":"x${KEY}${ADMIN}y"}`), secrets).toString();
    expect(out).toBe('{"a":"***","b":"x******y"}');
  });

  it('masks a secret split across two chunks at any position, and delays nothing else', () => {
    const text = `data: {"content":"key is ${KEY}!"}\n\ndata: [DONE]\n\n`;
    const bytes = Buffer.from(text);
    const start = text.indexOf(KEY);
    for (let cut = start; cut <= start + KEY.length; cut++) {
      const r = new StreamRedactor(secrets);
      const a = r.push(bytes.subarray(0, cut));
      const b = r.push(bytes.subarray(cut));
      const end = r.end();
      expect(end, `cut at ${cut}`).toBeNull();
      expect(Buffer.concat([a, b]).toString(), `cut at ${cut}`).toBe(text.replace(KEY, '***'));
    }
  });

  it('in 1-byte pieces too', () => {
    const text = `data: "${KEY}${KEY}"\n\n`;
    const r = new StreamRedactor(secrets);
    const out = [...Buffer.from(text)].map((b) => r.push(Buffer.from([b])));
    expect(Buffer.concat(out).toString()).toBe('data: "******"\n\n');
  });

  it('an SSE chunk (ending in a blank line) goes out whole and at once', () => {
    const r = new StreamRedactor(secrets);
    const chunk = Buffer.from('data: {"choices":[{"delta":{"content":"s"}}]}\n\n');
    expect(r.push(chunk)).toBe(chunk);
  });

  it('a stream cut inside a secret: the held-back start of it is masked, not sent', () => {
    const r = new StreamRedactor(secrets);
    const sent = r.push(Buffer.from(`data: "${KEY.slice(0, 12)}`));
    expect(sent.toString()).toBe('data: "');
    expect(r.end()?.toString()).toBe('***');
  });
});

describe('bounded body reader', () => {
  it('reads a body up to the bound', async () => {
    expect((await readAll(Readable.from([Buffer.alloc(600), Buffer.alloc(400)]), 1000)).length).toBe(1000);
  });

  it('past the bound: rejects with BodyTooLargeError and destroys the body', async () => {
    const body = Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(100);
    })());
    await expect(readAll(body, 1000)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(body.destroyed).toBe(true);
  });
});

describe('stream completeness', () => {
  const events = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n';

  it('[DONE] at the end, even split into single bytes: done', () => {
    const tap = createReassembler(1 << 20);
    for (const b of Buffer.from(events + 'data: [DONE]\n\n')) tap.push(Buffer.from([b]));
    expect(tap.finish()).toMatchObject({ text: 'hi', completed: true });
  });

  it('no [DONE], or [DONE] not last: not done', () => {
    for (const body of [events, 'data: [DONE]\n\n' + events, events + 'data: [DON']) {
      const tap = createReassembler(1 << 20);
      tap.push(Buffer.from(body));
      expect(tap.finish().completed, body).toBe(false);
    }
  });

  it('past the tap bound the end is still seen', () => {
    const tap = createReassembler(10);
    tap.push(Buffer.from(events.repeat(10)));
    tap.push(Buffer.from('data: [DONE]\n\n'));
    expect(tap.finish()).toMatchObject({ truncated: true, completed: true });
  });
});

describe('records say who ended a request', () => {
  const forwarded = () => {
    const ctx = new RequestContext('req-1');
    ctx.upstreamStart = 1;
    ctx.sessionId = 'ses-1';
    ctx.agent = { name: 'a' } as RequestContext['agent'];
    ctx.principal = { patId: 'pat-1' } as RequestContext['principal'];
    return ctx;
  };

  it('a stream without [DONE]: checkpoint incomplete, trace 200 upstream_incomplete', () => {
    const ctx = forwarded();
    ctx.errorCode = UPSTREAM_INCOMPLETE;
    expect(buildCheckpoint(ctx)).toMatchObject({ status: 'incomplete', errorCode: 'upstream_incomplete' });
    expect(buildTrace(ctx, 0)).toMatchObject({ status: 200, errorCode: 'upstream_incomplete' });
  });

  it('cut by shutdown: checkpoint shutdown, 503 server_shutting_down; a caller that left stays client_aborted', () => {
    const cut = forwarded();
    markCutByShutdown(cut);
    expect(buildCheckpoint(cut)).toMatchObject({ status: 'shutdown', errorCode: 'server_shutting_down' });
    expect(buildTrace(cut, 0)).toMatchObject({ status: 503, errorCode: 'server_shutting_down' });
    const left = forwarded();
    left.clientAborted = true;
    expect(buildCheckpoint(left)).toMatchObject({ status: 'client_aborted', errorCode: 'client_aborted' });
  });

  it('an invalid upstream answer is an upstream error', () => {
    const ctx = forwarded();
    ctx.errorCode = 'upstream_invalid_response';
    ctx.status = 502;
    expect(buildCheckpoint(ctx)).toMatchObject({ status: 'upstream_error', errorCode: 'upstream_invalid_response' });
  });
});

describe('readiness of one store', () => {
  it('a store that never answers is reported failing after the bound', async () => {
    const t0 = Date.now();
    const checks = await readyWithin('clickhouse', new Promise(() => {}), 100);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(checks).toEqual([{ name: 'clickhouse', ok: false, detail: 'no answer within 100 ms' }]);
  });

  it('an answer in time is passed on; a rejection becomes a failing check', async () => {
    expect(await readyWithin('storage', Promise.resolve([{ name: 'storage', ok: true }]))).toEqual([{ name: 'storage', ok: true }]);
    expect(await readyWithin('redis', Promise.reject(new Error('down')))).toEqual([{ name: 'redis', ok: false, detail: 'down' }]);
  });
});
