// POST /v1/completions (legacy): the text is `echo:` + the JSON of the received `prompt`.
// Shapes from openai/resources/completions.d.ts: `text_completion` objects, streamed as
// chunks of the same object type, then (with stream_options.include_usage) a usage chunk
// with `choices: []`, then `data: [DONE]`.

import { DONE_EVENT, MOCK_FINGERPRINT, splitContent, type Usage } from './openai-shapes.js';
import { errorReply, Ids, nowSeconds, tokensOf, type Route } from './route.js';

const DEFAULT_MODEL = 'gpt-3.5-turbo-instruct';

export function completionText(prompt: unknown): string {
  return 'echo:' + JSON.stringify(prompt);
}

export function completionUsage(prompt: unknown, text: string): Usage {
  const prompt_tokens = tokensOf(JSON.stringify(prompt));
  const completion_tokens = tokensOf(text);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function choice(text: string, finish: string | null) {
  return { text, index: 0, logprobs: null, finish_reason: finish };
}

export function completionsRoute(ids: Ids): Route {
  return {
    body: true,
    model: true,
    stream: (body) => body.stream === true,
    validate: ({ body }) => (body.prompt === undefined ? errorReply(400, "Missing required parameter: 'prompt'.", 'prompt') : undefined),
    reply: ({ body, faults }) => {
      const id = ids.next('cmpl-');
      const created = nowSeconds();
      const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
      const text = completionText(body.prompt);
      const usage = completionUsage(body.prompt, text);
      const base = { id, object: 'text_completion', created, model, system_fingerprint: MOCK_FINGERPRINT };
      if (body.stream !== true) {
        return { kind: 'json', json: JSON.stringify({ ...base, choices: [choice(text, 'stop')], usage }) };
      }
      const so = body.stream_options as Record<string, unknown> | undefined;
      const withUsage = typeof so === 'object' && so !== null && so.include_usage === true;
      const event = (choices: unknown[], extra: object = withUsage ? { usage: null } : {}) =>
        'data: ' + JSON.stringify({ ...base, choices, ...extra }) + '\n\n';
      const pieces = splitContent(text, faults.chunks).map((p) => event([choice(p, null)]));
      let tail = event([choice('', 'stop')]);
      if (withUsage) tail += event([], { usage });
      tail += DONE_EVENT;
      return { kind: 'sse', sse: { first: pieces[0]!, rest: pieces.slice(1), tail } };
    },
  };
}
