// The OpenTelemetry SDK side, imported only when OTLP export is configured (index.ts). Spans are built
// after the fact from what the request context measured: the request span starts when the gateway
// started on the request (so its context can go upstream as `traceparent`), the stage spans are
// created at the end with explicit start and end times, laid out in pipeline order from the stage
// durations (ctx.stages holds durations, not start times), the upstream span from its real times.
import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace as otelTrace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Trace } from '../stores/ports.js';
import type { RequestContext } from '../pipeline/context.js';
import { packageVersion } from '../util/package-root.js';
import type { RequestNotes, Telemetry, TelemetryOptions } from './index.js';

/** Stages before the provider, in the order handle.ts runs them */
const BEFORE_UPSTREAM = ['auth', 'agent', 'rate_limit', 'validate', 'session', 'directive', 'policy', 'route', 'inject', 'cache'];

/** GenAI `gen_ai.operation.name` per inbound protocol */
const OPERATION: Record<string, string> = {
  'openai-chat': 'chat',
  'openai-responses': 'chat',
  'anthropic-messages': 'chat',
  'openai-completions': 'text_completion',
  'openai-embeddings': 'embeddings',
  'openai-moderations': 'moderation',
};

interface Open {
  span: Span;
  protocol: string;
}

const getter = { get: (c: Record<string, string>, k: string) => c[k], keys: (c: Record<string, string>) => Object.keys(c) };
const setter = { set: (c: Record<string, string>, k: string, v: string) => void (c[k] = v) };

export function createSdkTelemetry(env: NodeJS.ProcessEnv, opts: TelemetryOptions = {}): Telemetry {
  // The URL from the env given (not only process.env): the traces endpoint as is, or the base + /v1/traces.
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? `${base}/v1/traces` : undefined);
  const exporter = new OTLPTraceExporter(url ? { url } : {});
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName ?? env.OTEL_SERVICE_NAME ?? 'ibex',
      [ATTR_SERVICE_VERSION]: packageVersion(),
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('ibex', packageVersion());
  const propagator = new W3CTraceContextPropagator();
  const open = new WeakMap<RequestContext, Open>();
  /** performance.now() of the request → epoch ms */
  const epoch = (ctx: RequestContext, perf: number) => ctx.startedAt + (perf - ctx.t0);

  return {
    startRequest(ctx, incoming, protocol) {
      const header = Array.isArray(incoming) ? incoming[0] : incoming;
      const parent = header ? propagator.extract(ROOT_CONTEXT, { traceparent: header }, getter) : ROOT_CONTEXT;
      const op = OPERATION[protocol] ?? 'chat';
      const span = tracer.startSpan(op, { kind: SpanKind.SERVER, startTime: ctx.startedAt, attributes: { 'gen_ai.operation.name': op } }, parent);
      open.set(ctx, { span, protocol });
      const carrier: Record<string, string> = {};
      propagator.inject(otelTrace.setSpan(ROOT_CONTEXT, span), carrier, setter);
      return carrier.traceparent;
    },

    endRequest(ctx, t: Trace, notes: RequestNotes = {}) {
      const o = open.get(ctx);
      if (!o) return;
      open.delete(ctx);
      const { span } = o;
      const end = t.startedAt + t.totalMs;
      const system = t.provider ? (opts.providerKind?.(t.provider) ?? t.provider) : undefined;
      if (t.model) span.updateName(`${OPERATION[o.protocol] ?? 'chat'} ${t.model}`);
      const attrs: Record<string, string | number | boolean | string[] | undefined> = {
        'gen_ai.system': system,
        'gen_ai.provider.name': system,
        'gen_ai.request.model': t.model ?? undefined,
        'gen_ai.response.model': ctx.servedModel ?? undefined,
        'gen_ai.response.id': ctx.responseId ?? undefined,
        'gen_ai.response.finish_reasons': ctx.finishReason ? [ctx.finishReason] : undefined,
        'gen_ai.usage.input_tokens': t.promptTokens ?? undefined,
        'gen_ai.usage.output_tokens': t.completionTokens ?? undefined,
        'http.response.status_code': t.status,
        'error.type': t.errorCode ?? undefined,
        'ibex.request_id': t.requestId,
        'ibex.agent': t.agent ?? undefined,
        'ibex.session_id': t.sessionId ?? undefined,
        'ibex.stream': t.stream,
        'ibex.overhead_ms': t.overheadMs,
        'ibex.directive_version': t.directiveVersion ?? undefined,
        'ibex.policy': notes.policy ?? undefined,
        'ibex.cache': notes.cache ?? undefined,
      };
      for (const [k, v] of Object.entries(attrs)) if (v !== undefined) span.setAttribute(k, v);
      if (t.status >= 400 || t.errorCode) span.setStatus({ code: SpanStatusCode.ERROR, message: t.errorCode ?? String(t.status) });

      const parent = otelTrace.setSpan(otelContext.active(), span);
      const child = (name: string, start: number, stop: number, kind = SpanKind.INTERNAL) =>
        tracer.startSpan(name, { kind, startTime: start }, parent).end(Math.max(start, stop));
      let at = t.startedAt;
      for (const stage of BEFORE_UPSTREAM) {
        const ms = t.stages[stage];
        if (ms === undefined) continue;
        child(stage, at, at + ms);
        at += ms;
      }
      if (ctx.upstreamStart !== null) {
        const upStart = epoch(ctx, ctx.upstreamStart);
        const upEnd = ctx.upstreamEnd !== null ? epoch(ctx, ctx.upstreamEnd) : end;
        child('upstream', upStart, upEnd, SpanKind.CLIENT);
        at = Math.max(at, upEnd);
      }
      const respond = t.stages.respond;
      if (respond !== undefined) child('respond', Math.min(at, end - respond), Math.min(at, end - respond) + respond);
      span.end(end);
    },

    async shutdown() {
      await provider.shutdown().catch(() => {});
    },
  };
}
