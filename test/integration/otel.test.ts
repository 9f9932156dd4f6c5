// OpenTelemetry: spans reach a local OTLP/HTTP receiver (JSON) with the GenAI attributes and a child
// span per stage; an incoming traceparent is continued and a traceparent goes upstream.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTelemetry, type Telemetry } from '../../src/otel/index.js';
import { agent, startPipeline, type TestPipeline } from '../helpers/pipeline.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

let receiver: Server;
let receiverUrl: string;
const bodies: { path: string; contentType: string; json: any }[] = [];
let telemetry: Telemetry;
let p: TestPipeline;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), json: JSON.parse(Buffer.concat(parts).toString()) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const addr = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  telemetry = (await initTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: 'ibex-test' }))!;
  p = await startPipeline({ agents: { support: agent([{ use: 'max-tokens', max: 50, default: 20 }]) }, telemetry });
});
afterAll(async () => {
  await p?.close();
  await new Promise((r) => receiver?.close(r));
});

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.arrayValue))) : undefined;
};

describe('OpenTelemetry', () => {
  it('is off (null, nothing imported) without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    expect(await initTelemetry({})).toBeNull();
    expect(await initTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBeNull();
  });

  it('exports one request span with GenAI attributes and child spans per stage; continues traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const res = await p.post('/v1/chat/completions', 'support', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, {
      traceparent: `00-${traceId}-${parentId}-01`,
    });
    expect(res.status).toBe(200);
    await res.text();
    // the provider got our span's context: same trace, a new parent
    const up = String(p.upstream.at(-1)!.headers.traceparent);
    expect(up).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(up).not.toContain(parentId);

    await telemetry.shutdown(); // flushes the batch
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies[0]!.path).toBe('/v1/traces');
    expect(bodies[0]!.contentType).toContain('application/json');
    const resource = bodies[0]!.json.resourceSpans[0].resource.attributes;
    expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'ibex-test' } });
    const spans: OtlpSpan[] = bodies.flatMap((b) => b.json.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
    const root = spans.find((s) => s.name === 'chat gpt-4o-mini')!;
    expect(root).toBeDefined();
    expect(root.traceId).toBe(traceId);
    expect(root.parentSpanId).toBe(parentId);
    expect(up.split('-')[2]).toBe(root.spanId);
    expect(attr(root, 'gen_ai.system')).toBe('openai');
    expect(attr(root, 'gen_ai.operation.name')).toBe('chat');
    expect(attr(root, 'gen_ai.request.model')).toBe('gpt-4o-mini');
    expect(attr(root, 'gen_ai.response.model')).toBe('gpt-4o-mini');
    expect(attr(root, 'gen_ai.usage.input_tokens')).toBeGreaterThan(0);
    expect(attr(root, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
    expect(attr(root, 'http.response.status_code')).toBe(200);
    expect(attr(root, 'ibex.policy')).toMatch(/max-tokens request modify/);
    const children = spans.filter((s) => s.parentSpanId === root.spanId);
    const names = children.map((s) => s.name);
    for (const stage of ['agent', 'validate', 'policy', 'route', 'inject', 'upstream']) expect(names).toContain(stage);
    for (const c of children) {
      expect(c.traceId).toBe(traceId);
      expect(BigInt(c.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(root.startTimeUnixNano));
      expect(BigInt(c.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(root.endTimeUnixNano) + 1_000_000n);
    }
  });
});
