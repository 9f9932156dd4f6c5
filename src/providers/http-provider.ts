// A provider over one keep-alive undici Pool per upstream origin, composed with undici's retry
// interceptor (compressed bodies are decoded by the caller, see pipeline/decode.ts). Separate timeouts: connect, time to response headers (TTFB), and the idle
// gap between body chunks — never a whole-request timeout, so a long stream that keeps producing is
// never cut.
import { Pool, interceptors, type Dispatcher } from 'undici';
import type { ForwardOptions, Provider, ProviderConfig, UpstreamResponse } from './types.js';
import { AFTER_RESPONSE_START, createRetryPolicy, RETRY_ERROR_CODES, RETRY_STATUS_CODES, type RetryPolicyOptions } from './openai/retry-policy.js';

/**
 * Sits between the retry interceptor and the pool (one wrapper per attempt) and marks an error that
 * happens after this attempt's response headers, so the retry policy refuses it: a response that started
 * is never retried (ADR 0002), whatever undici's RetryHandler would do.
 */
const markAfterResponseStart: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  let started = false;
  return dispatch(opts, {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, statusCode, headers, socket) => handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
    onResponseStart: (controller, statusCode, headers, statusMessage) => {
      started = true;
      return handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
    },
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, err) => {
      if (started && err && typeof err === 'object') (err as { [AFTER_RESPONSE_START]?: boolean })[AFTER_RESPONSE_START] = true;
      return handler.onResponseError?.(controller, err);
    },
  });
};

export interface HttpProviderOptions {
  connections: number;
  connectTimeoutMs: number;
  ttfbTimeoutMs: number;
  idleTimeoutMs: number;
  retry: RetryPolicyOptions;
}

export class HttpProvider implements Provider {
  readonly id: string;
  private readonly pool: Pool;
  private readonly dispatcher: Dispatcher;
  private readonly basePath: string;

  constructor(
    private readonly config: ProviderConfig,
    opts: HttpProviderOptions,
  ) {
    this.id = config.id;
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: opts.connectTimeoutMs },
      headersTimeout: opts.ttfbTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
    });
    // compose() wraps left to right: markAfterResponseStart is inside the retry interceptor, so it sees
    // each attempt's response start before the RetryHandler decides.
    this.dispatcher = this.pool.compose(
      markAfterResponseStart,
      interceptors.retry({
        maxRetries: opts.retry.maxRetries,
        methods: ['POST', 'GET'],
        statusCodes: RETRY_STATUS_CODES,
        errorCodes: RETRY_ERROR_CODES,
        // Hand the last failed response (with its body) to us instead of a bodiless error,
        // so upstream error bodies can be passed through.
        throwOnError: false,
        retry: createRetryPolicy(opts.retry),
      }),
    );
  }

  chatCompletions(body: string, opts: ForwardOptions): Promise<UpstreamResponse> {
    return this.send('POST', this.config.chatCompletionsPath, body, opts);
  }

  models(opts: ForwardOptions): Promise<UpstreamResponse> {
    return this.send('GET', this.config.modelsPath, undefined, opts);
  }

  private async send(method: 'GET' | 'POST', path: string, body: string | undefined, opts: ForwardOptions): Promise<UpstreamResponse> {
    const headers = body === undefined ? { ...this.config.headers() } : this.config.headers();
    if (body === undefined) delete headers['content-type'];
    const res = await this.dispatcher.request({
      method,
      path: this.basePath + path,
      headers: { ...headers, 'x-request-id': opts.requestId },
      body,
      signal: opts.signal,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
