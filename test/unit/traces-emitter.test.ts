import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusTopic, Trace, TraceFilter, TraceSink } from '../../src/stores/ports.js';
import { TraceEmitter } from '../../src/traces/emitter.js';
import { sanitizeTrace } from '../../src/traces/sanitize.js';

function sampleTrace(over: Partial<Trace> = {}): Trace {
  return {
    requestId: 'req_1',
    clientRequestId: 'caller-1',
    sessionId: 'sess_1',
    agent: 'writer',
    patId: 'pat_1',
    model: 'gpt-test',
    provider: 'openai',
    stream: false,
    status: 200,
    errorCode: null,
    startedAt: 1_700_000_000_000,
    totalMs: 52.5,
    upstreamTtfbMs: 40,
    upstreamMs: 50,
    overheadMs: 2.5,
    stages: { auth: 0.2, inject: 0.1 },
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    cachedTokens: 4,
    reasoningTokens: null,
    costUsd: 0.0000045,
    bytesIn: 300,
    bytesOut: 500,
    directiveVersion: 3,
    servedModel: 'gpt-test-0125',
    attempts: [{ provider: 'primary', model: 'gpt-test', error: 'upstream_timeout' }],
    policyDecisions: null,
    cacheStatus: null,
    ...over,
  };
}

class ListSink implements Pick<TraceSink, 'write' | 'list'> {
  traces: Trace[] = [];
  failing = false;
  async write(batch: Trace[]): Promise<void> {
    if (this.failing) throw new Error('down (injected)');
    this.traces.push(...batch);
  }
  async list(_filter?: TraceFilter): Promise<Trace[]> {
    return [...this.traces].reverse();
  }
}

class RecordingBus implements Bus {
  published: Array<{ topic: BusTopic; message: unknown }> = [];
  mode: 'ok' | 'reject' | 'throw' = 'ok';
  async publish(topic: BusTopic, message: unknown): Promise<void> {
    if (this.mode === 'throw') throw new Error('bus broken');
    this.published.push({ topic, message });
    if (this.mode === 'reject') throw new Error('bus rejected');
  }
  subscribe(): () => void {
    return () => undefined;
  }
}

const dirs: string[] = [];
const emitters: TraceEmitter[] = [];
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'ibex-emit-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const e of emitters.splice(0)) await e.close(200);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('TraceEmitter', () => {
  it('stores the trace and publishes it on the bus topic "trace"', async () => {
    const sink = new ListSink();
    const bus = new RecordingBus();
    const e = new TraceEmitter({ sink, bus, spoolDir: tempDir() });
    emitters.push(e);
    e.emit(sampleTrace());
    expect(bus.published).toEqual([{ topic: 'trace', message: sampleTrace() }]);
    await e.flush();
    expect(sink.traces).toEqual([sampleTrace()]);
    expect(e.stats()).toMatchObject({ written: 1, dropped: 0, busErrors: 0 });
  });

  it('writes a backlog of traces in larger inserts (10 batches at most)', async () => {
    const sizes: number[] = [];
    const sink = new ListSink();
    const slow: Pick<TraceSink, 'write' | 'list'> = {
      write: async (batch) => {
        sizes.push(batch.length);
        await new Promise((r) => setTimeout(r, 30));
        await sink.write(batch);
      },
      list: (f) => sink.list(f),
    };
    const e = new TraceEmitter({ sink: slow, spoolDir: tempDir(), batchSize: 5 });
    emitters.push(e);
    for (let i = 0; i < 5; i++) e.emit(sampleTrace({ requestId: `a${i}` }));
    for (let t0 = Date.now(); e.stats().inflight !== 5; ) {
      if (Date.now() - t0 > 2_000) throw new Error('first batch never went out');
      await new Promise((r) => setTimeout(r, 1)); // until the first batch of 5 is in flight
    }
    for (let i = 0; i < 80; i++) e.emit(sampleTrace({ requestId: `b${i}` }));
    await e.flush();
    expect(sizes).toEqual([5, 50, 30]);
    expect(sink.traces).toHaveLength(85);
  });

  it('never lets text or secrets through: only Trace fields are kept', async () => {
    const sink = new ListSink();
    const bus = new RecordingBus();
    const e = new TraceEmitter({ sink, bus, spoolDir: tempDir() });
    emitters.push(e);
    const leaky = {
      ...sampleTrace(),
      messages: [{ role: 'user', content: 'my secret prompt' }],
      reply: 'the completion text',
      authorization: 'Bearer ibex_pat_secret',
      stages: { auth: 1, note: 'text' as unknown as number },
    } as Trace;
    e.emit(leaky);
    await e.flush();
    const stored = JSON.stringify(sink.traces);
    const live = JSON.stringify(bus.published);
    for (const text of ['my secret prompt', 'the completion text', 'ibex_pat_secret', '"note"']) {
      expect(stored).not.toContain(text);
      expect(live).not.toContain(text);
    }
    expect(Object.keys(sink.traces[0]!).sort()).toEqual(Object.keys(sampleTrace()).sort());
    expect(sink.traces[0]!.stages).toEqual({ auth: 1 });
  });

  it('a failing bus (rejecting or throwing) neither throws from emit nor stops storage', async () => {
    const sink = new ListSink();
    const bus = new RecordingBus();
    const e = new TraceEmitter({ sink, bus, spoolDir: tempDir() });
    emitters.push(e);
    bus.mode = 'reject';
    expect(() => e.emit(sampleTrace({ requestId: 'a' }))).not.toThrow();
    bus.mode = 'throw';
    expect(() => e.emit(sampleTrace({ requestId: 'b' }))).not.toThrow();
    await e.flush();
    expect(sink.traces.map((t) => t.requestId)).toEqual(['a', 'b']);
    expect(e.stats().busErrors).toBe(2);
  });

  it('spools traces while the sink is down, under the "traces" name, and writes them when it is back', async () => {
    const dir = tempDir();
    const sink = new ListSink();
    sink.failing = true;
    const e = new TraceEmitter({ sink, spoolDir: dir, retry: { baseMs: 10, maxMs: 20 } });
    emitters.push(e);
    for (let i = 0; i < 5; i++) e.emit(sampleTrace({ requestId: `r${i}` }));
    await e.flush();
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.startsWith('traces.'))).toBe(true);
    const onDisk = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Trace));
    expect(onDisk.map((t) => t.requestId)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    sink.failing = false;
    await e.flush();
    expect(sink.traces.map((t) => t.requestId)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('sanitizeTrace', () => {
  it('normalises types and keeps nulls', () => {
    const t = sanitizeTrace({ ...sampleTrace(), status: '200' as unknown as number, totalMs: NaN, upstreamMs: undefined as unknown as null });
    expect(t.status).toBe(200);
    expect(t.totalMs).toBe(0);
    expect(t.upstreamMs).toBeNull();
  });

  it('keeps policy decisions (their four fields, bounded) and a valid cache status only', () => {
    const d = { policy: 'pii-redact', phase: 'stream' as const, action: 'replace' as const, detail: 'redacted 1 email (×2)' };
    expect(sanitizeTrace(sampleTrace({ policyDecisions: [d], cacheStatus: 'hit' }))).toMatchObject({ policyDecisions: [d], cacheStatus: 'hit' });
    const odd = sanitizeTrace(
      sampleTrace({
        policyDecisions: [...Array.from({ length: 40 }, () => ({ ...d, detail: 'x'.repeat(2000), prompt: 'my secret prompt' }))],
        cacheStatus: 'stale' as 'hit',
      }),
    );
    expect(odd.policyDecisions).toHaveLength(32);
    expect(odd.policyDecisions![0]!.detail).toHaveLength(500);
    expect(JSON.stringify(odd)).not.toContain('my secret prompt');
    expect(odd.cacheStatus).toBeNull();
    // none (an empty list, or a trace spooled by an older version): null
    expect(sanitizeTrace(sampleTrace({ policyDecisions: [] })).policyDecisions).toBeNull();
    expect(sanitizeTrace({ ...sampleTrace(), policyDecisions: undefined, cacheStatus: undefined })).toMatchObject({ policyDecisions: null, cacheStatus: null });
  });
});
