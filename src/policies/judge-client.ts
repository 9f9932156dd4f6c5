// The judge's way to ask a model "through ibex itself": the gateway's own routing (aliases, provider
// prefixes) and providers (keys, retries), with a plain non-streamed chat completion. It does not go
// through the HTTP pipeline (no PAT, no session, no policies of its own: a judge cannot judge itself).
import { randomUUID } from 'node:crypto';
import type { ProviderRegistry } from '../providers/index.js';
import { decodedBody, readAll } from '../pipeline/decode.js';
import type { PolicyEnv } from './types.js';

const JUDGE_MAX_BYTES = 1024 * 1024;

export function createJudgeChat(providers: Pick<ProviderRegistry, 'route'>, timeoutMs = 30_000): NonNullable<PolicyEnv['chat']> {
  return async ({ model, messages }) => {
    const routed = providers.route(model);
    const signal = AbortSignal.timeout(timeoutMs);
    const res = await routed.provider.send(
      { method: 'POST', path: '/chat/completions', body: JSON.stringify({ model: routed.model || model, messages, stream: false }) },
      { requestId: `judge_${randomUUID()}`, signal },
    );
    const text = (await readAll(decodedBody(res.body, res.headers['content-encoding']), JUDGE_MAX_BYTES)).toString('utf8');
    if (res.status >= 400) throw new Error(`the judge model answered ${res.status}`);
    const json = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] };
    const content = json.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new Error('the judge model gave no text');
    return content;
  };
}
