// Usage on every chat stream: ibex asks for it, and the caller who did not ask gets the provider's
// stream minus exactly the usage chunk, whatever way the bytes were split.
import { describe, expect, it } from 'vitest';
import { prepareUpstream, UsageChunkFilter } from '../../src/protocols/openai-chat/stream-usage.js';
import { parseChatSse } from '../../src/protocols/openai-chat/reassemble.js';
import { streamEvents } from '../../src/mock/openai-shapes.js';

const ev = streamEvents('chatcmpl-1', 1700000000, 'm', 'echo:[{"role":"user","content":"hi \\"usage\\":{ there"}]', 4, true);
const upstream = ev.role + ev.contents.join('') + ev.tail;
const usageChunk = /data: \{[^\n]*"choices":\[\],"usage":\{[^\n]*\n\n/.exec(upstream)![0];
const expected = upstream.replace(usageChunk, '');

function run(chunks: Buffer[]): string {
  const f = new UsageChunkFilter();
  const out = chunks.map((c) => f.push(c));
  out.push(f.end());
  return Buffer.concat(out).toString('utf8');
}

describe('prepareUpstream (openai-chat)', () => {
  it('asks for usage on a stream that did not, keeping the caller’s other stream options, with a filter', () => {
    const r = prepareUpstream({ model: 'm', messages: [], stream: true, stream_options: { include_obfuscation: false } });
    expect(r.body.stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    expect(r.strip).toBeInstanceOf(UsageChunkFilter);
    const off = prepareUpstream({ model: 'm', messages: [], stream: true, stream_options: { include_usage: false } });
    expect(off.body.stream_options).toEqual({ include_usage: true });
    expect(off.strip).toBeDefined();
  });

  it('leaves the body alone when the caller asked for usage, or does not stream', () => {
    const asked = { model: 'm', messages: [], stream: true, stream_options: { include_usage: true } };
    expect(prepareUpstream(asked)).toEqual({ body: asked });
    const plain = { model: 'm', messages: [] };
    expect(prepareUpstream(plain)).toEqual({ body: plain });
  });
});

describe('UsageChunkFilter', () => {
  it('the usage chunk is there upstream and the reassembler reads it (the tap sees everything)', () => {
    expect(usageChunk).toContain('"usage":{"prompt_tokens"');
    expect(parseChatSse(upstream).usage?.totalTokens).toBeGreaterThan(0);
  });

  it('removes only the usage chunk: the rest is byte-identical, in one chunk', () => {
    expect(run([Buffer.from(upstream)])).toBe(expected);
  });

  it('is byte-identical minus the usage chunk for every split point and for byte-by-byte delivery', () => {
    const bytes = Buffer.from(upstream);
    for (let i = 1; i < bytes.length; i++) {
      expect(run([bytes.subarray(0, i), bytes.subarray(i)])).toBe(expected);
    }
    expect(run([...bytes].map((b) => Buffer.from([b])))).toBe(expected);
  });

  it('passes a chunk of whole events without a usage object through as the same buffer', () => {
    const f = new UsageChunkFilter();
    const chunk = Buffer.from(ev.role);
    expect(f.push(chunk)).toBe(chunk);
  });

  it('keeps a content delta that merely mentions "usage" and a usage-carrying chunk that has choices', () => {
    const withChoices = 'data: {"choices":[{"index":0,"delta":{}}],"usage":{"total_tokens":3}}\n\n';
    const s = ev.role + withChoices + 'data: [DONE]\n\n';
    expect(run([Buffer.from(s)])).toBe(s);
  });

  it('handles CRLF event separators', () => {
    const crlf = upstream.replaceAll('\n\n', '\r\n\r\n');
    expect(run([Buffer.from(crlf)])).toBe(expected.replaceAll('\n\n', '\r\n\r\n'));
  });

  it('does not hold a stream that never has an event boundary beyond a bound', () => {
    const f = new UsageChunkFilter();
    const big = Buffer.alloc(300 * 1024, 'x');
    expect(f.push(big).length).toBe(big.length);
  });
});
