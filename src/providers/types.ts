// The provider seam (seed milestone 2.1.1). A provider turns an OpenAI-shaped request body into an
// upstream HTTP exchange. It is declarative where it can be (after Portkey's provider configs): an
// OpenAI-compatible provider only names its base URL, headers and endpoints.
import type { UpstreamSignal } from '../util/abort-emitter.js';
import type { Dispatcher } from 'undici';

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as undici delivers it: consume it (or `.dump()` it) exactly once */
  body: Dispatcher.ResponseData['body'];
  /** Which key of the provider's pool was sent (null: the provider has no key) */
  keyIndex?: number | null;
}

/** One upstream call: a path under the provider's base URL (`/chat/completions`, `/responses/ID`…). */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** The serialised body (JSON), or a stream for passthrough uploads */
  body?: string | Buffer | NodeJS.ReadableStream;
  /** Caller headers worth forwarding (content-type of an upload, `openai-beta`…); never auth */
  headers?: Record<string, string>;
  /** The model the call is for: some kinds put it in the path (Azure deployments) */
  model?: string;
}

export interface ForwardOptions {
  requestId: string;
  /** Aborts the upstream request (client went away, shutdown) */
  signal: UpstreamSignal;
  /**
   * Use this key of the pool and no other (a stateful continuation: the state lives in the account
   * of the key that created it). Not rotated on a 429; ignored when out of range.
   */
  keyIndex?: number;
}

export interface Provider {
  readonly id: string;
  /** What the kind speaks and how it is reached (src/providers/kinds.ts) */
  readonly kind: import('./kinds.js').KindSpec;
  /** true when the provider takes this inbound protocol's requests as they are */
  speaks(protocol: string): boolean;
  /** The breaker of this model is open (src/providers/health.ts): the registry tries the target after the others */
  tripped?(model: string, now: number): boolean;
  status(): import('./http-provider.js').ProviderStatus;
  /** Largest non-streaming answer read from this provider (bytes); forward.ts answers 502 beyond it */
  readonly maxResponseBytes?: number;
  /** Where a chat body ibex translated for this provider carries its reply-size limit; absent: max_completion_tokens */
  readonly maxTokensField?: import('../config/types.js').MaxTokensField;
  /** Sends one request; resolves when the response headers arrive (after retries of retry-safe failures). */
  send(req: UpstreamRequest, opts: ForwardOptions): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
