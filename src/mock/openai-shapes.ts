// Pure builders for the OpenAI wire shapes the mock replies with. Kept apart from the
// HTTP plumbing so the shapes can be unit-tested without a socket, and so the hot path
// in server.ts only concatenates precomputed strings.

export const MOCK_FINGERPRINT = 'fp_ibex_mock';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface OpenAIErrorShape {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** The deterministic reply: `echo:` + the JSON of the messages the mock received. */
export function echoContent(messages: unknown[]): string {
  return 'echo:' + JSON.stringify(messages);
}

/**
 * Deterministic token estimate (~4 characters per token, like OpenAI's rule of thumb).
 * Prompt tokens count the JSON of the messages, completion tokens the reply text.
 */
export function usageFor(content: string): Usage {
  const promptChars = content.length - 'echo:'.length;
  const prompt_tokens = Math.max(1, Math.ceil(promptChars / 4));
  const completion_tokens = Math.max(1, Math.ceil(content.length / 4));
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

export function completionBody(id: string, created: number, model: string, content: string): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: MOCK_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: usageFor(content),
  });
}

/**
 * Splits `content` into exactly `n` consecutive pieces of near-equal length whose
 * concatenation is `content`. Pieces may be empty when n > content.length. A boundary
 * never falls between the two halves of a UTF-16 surrogate pair, so every piece is
 * well-formed text for clients that decode each delta on its own.
 */
export function splitContent(content: string, n: number): string[] {
  const pieces: string[] = new Array(n);
  const len = content.length;
  let start = 0;
  for (let i = 0; i < n; i++) {
    let end = i === n - 1 ? len : Math.floor(((i + 1) * len) / n);
    if (end < start) end = start;
    if (end > 0 && end < len && isHighSurrogate(content.charCodeAt(end - 1))) end++;
    pieces[i] = content.slice(start, end);
    start = end;
  }
  return pieces;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * The SSE events of one streamed completion, as the strings to write. OpenAI's order:
 * a role delta, the content deltas, an empty delta with finish_reason, then (only with
 * `stream_options.include_usage`) a chunk with `choices: []` and the usage — every chunk
 * before it carrying `usage: null` — and finally `data: [DONE]`.
 */
export interface StreamEvents {
  role: string;
  contents: string[];
  /** finish chunk + optional usage chunk + [DONE], written together after the last delta */
  tail: string;
}

export function streamEvents(
  id: string,
  created: number,
  model: string,
  content: string,
  chunks: number,
  includeUsage: boolean,
): StreamEvents {
  const frame = chunkFramer(id, created, model, includeUsage);
  const role = frame.delta('{"role":"assistant","content":"","refusal":null}');
  const contents = splitContent(content, chunks).map((piece) => frame.delta('{"content":' + JSON.stringify(piece) + '}'));
  const tail = frame.finish('stop') + (includeUsage ? frame.usage(usageFor(content)) : '') + DONE_EVENT;
  return { role, contents, tail };
}

export const DONE_EVENT = 'data: [DONE]\n\n';

/** Builds the `chat.completion.chunk` SSE events of one stream; the common prefix is built once. */
export interface ChunkFramer {
  /** a chunk whose choice carries this delta (JSON text) and finish_reason null */
  delta(deltaJson: string): string;
  /** the empty-delta chunk with this finish_reason */
  finish(reason: string): string;
  /** the `choices: []` usage chunk (only with stream_options.include_usage) */
  usage(usage: object): string;
}

export function chunkFramer(id: string, created: number, model: string, includeUsage: boolean): ChunkFramer {
  const head =
    'data: {"id":' + JSON.stringify(id) +
    ',"object":"chat.completion.chunk","created":' + created +
    ',"model":' + JSON.stringify(model) +
    ',"system_fingerprint":"' + MOCK_FINGERPRINT + '","choices":[{"index":0,"delta":';
  // Like OpenAI: with include_usage every chunk before the usage chunk carries usage: null.
  const usageNull = includeUsage ? ',"usage":null' : '';
  const open = ',"logprobs":null,"finish_reason":null}]' + usageNull + '}\n\n';
  return {
    delta: (deltaJson) => head + deltaJson + open,
    finish: (reason) => head + '{},"logprobs":null,"finish_reason":' + JSON.stringify(reason) + '}]' + usageNull + '}\n\n',
    usage: (usage) =>
      'data: ' +
      JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: MOCK_FINGERPRINT, choices: [], usage }) +
      '\n\n',
  };
}

/** OpenAI-shaped error body for a status, with the type/code OpenAI uses for it. */
export function errorBody(status: number, message?: string, param: string | null = null, codeOverride?: string | null): OpenAIErrorShape {
  const { type, code } = errorKind(status);
  return { error: { message: message ?? defaultMessage(status), type, code: codeOverride === undefined ? code : codeOverride, param } };
}

function errorKind(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'permission_error', code: null };
  if (status === 413) return { type: 'invalid_request_error', code: 'request_too_large' };
  // OpenAI labels request-rate limits with type "requests".
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests (injected by ibex mock upstream).';
  if (status >= 500) return 'The server had an error while processing your request (injected by ibex mock upstream).';
  return `Request failed with status ${status} (injected by ibex mock upstream).`;
}

export const MOCK_MODELS = ['gpt-4o-mini', 'gpt-4o'] as const;

/** GET /v1/models/{id}: the model object, or undefined when the mock does not list it. */
export function modelBody(id: string, created: number): string | undefined {
  if (!(MOCK_MODELS as readonly string[]).includes(id)) return undefined;
  return JSON.stringify({ id, object: 'model', created, owned_by: 'ibex-mock' });
}

export function modelsBody(created: number): string {
  return JSON.stringify({
    object: 'list',
    data: MOCK_MODELS.map((id) => ({ id, object: 'model', created, owned_by: 'ibex-mock' })),
  });
}
