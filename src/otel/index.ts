// OpenTelemetry (issue 17). Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then, and only then, the SDK is imported (sdk.ts) and each
// request gets one span with the GenAI semantic conventions, a child span per pipeline stage, exported
// over OTLP/HTTP in batches. When it is not set this file imports nothing and the pipeline's calls are
// `deps.telemetry?.…` on undefined.
import type { Trace } from '../stores/ports.js';
import type { RequestContext } from '../pipeline/context.js';

export interface RequestNotes {
  /** policy decisions, one line (PolicyRun.summary) */
  policy?: string | null;
  /** `hit` / `miss` when the agent's cache is on */
  cache?: string | null;
}

export interface Telemetry {
  /**
   * Starts the request's span (continuing the caller's `traceparent` when valid) and returns the
   * `traceparent` to send upstream (the span's own context).
   */
  startRequest(ctx: RequestContext, incoming: string | string[] | undefined, protocol: string): string | undefined;
  /** Ends it after the reply, with the trace's figures and a child span per stage. */
  endRequest(ctx: RequestContext, trace: Trace, notes?: RequestNotes): void;
  /** Flushes the spans still batched (shutdown). */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** The `gen_ai.system` of a provider id (its kind: openai, anthropic, azure-openai…); the id when absent */
  providerKind?: (providerId: string) => string | undefined;
  /** Overrides service.name (else OTEL_SERVICE_NAME, else `ibex`) */
  serviceName?: string;
}

export function telemetryEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';
}

/** null when OpenTelemetry is not configured (nothing loaded); else the SDK-backed telemetry. */
export async function initTelemetry(env: NodeJS.ProcessEnv = process.env, opts: TelemetryOptions = {}): Promise<Telemetry | null> {
  if (!telemetryEnabled(env)) return null;
  const { createSdkTelemetry } = await import('./sdk.js');
  return createSdkTelemetry(env, opts);
}
