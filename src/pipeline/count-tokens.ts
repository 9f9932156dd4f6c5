// POST /v1/messages/count_tokens (Anthropic). The count includes the directive the gateway would place,
// so a client budgeting its context sees what the model will see. An `anthropic` provider counts
// exactly (the request is relayed); any other provider has no such endpoint, so the gateway estimates
// (about 4 bytes of JSON per token) and says so in `x-ibex-token-count: estimate`.
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import { parseCountTokensRequest } from '../protocols/anthropic-messages/parse.js';
import { placeDirective } from '../protocols/anthropic-messages/directive.js';
import { renderError } from '../protocols/anthropic-messages/errors.js';
import { mapUpstreamException, mapUpstreamStatus } from '../providers/openai/error-map.js';
import { decodedBody, readAll } from './decode.js';
import { RequestContext } from './context.js';
import { buildTrace } from './record.js';
import type { PipelineDeps } from './handle.js';
import { AbortEmitter } from '../util/abort-emitter.js';
import { callerHeaders } from './caller-headers.js';
import { anthropicMessages } from '../protocols/anthropic-messages/protocol.js';

const MAX_COUNT_REPLY = 64 * 1024;

export function createCountTokensHandler(deps: Pick<PipelineDeps, 'verifyAgent' | 'resolveDirective' | 'providers' | 'recorders' | 'logError'>) {
  return async function countTokens(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ctx = new RequestContext(req.id, String(reply.getHeader('x-request-id') ?? req.id), performance.now() - req.authMs);
    try {
      const principal = req.principal;
      if (!principal) throw new IbexError('IBEX_ERR_INVALID_API_KEY');
      ctx.principal = principal;
      const agentHeader = req.headers['x-ibex-agent'];
      const agent = await deps.verifyAgent(principal, typeof agentHeader === 'string' ? agentHeader : undefined);
      ctx.agent = agent;
      const parsed = parseCountTokensRequest(req.body);
      ctx.model = parsed.model;
      // The version a new session would be served (a count has no session).
      const r = deps.resolveDirective(agent.name, null, true);
      const directive = (r instanceof Promise ? await r : r)?.directive ?? null;
      const body = placeDirective(parsed.body, directive?.text ?? null);
      const target = deps.providers.route(parsed.model);
      ctx.provider = target.provider.id;
      if (target.provider.kind.kind === 'anthropic') {
        const abort = new AbortEmitter();
        reply.raw.once('close', () => abort.abort());
        ctx.upstreamStart = performance.now();
        // The caller's beta flags count too (a beta may change what is counted).
        const flags = callerHeaders(anthropicMessages.forwardedHeaders, req.headers);
        let res;
        try {
          res = await target.provider.send(
            {
              method: 'POST',
              path: '/messages/count_tokens',
              body: JSON.stringify({ ...body, model: target.model }),
              model: target.model,
              ...(flags ? { headers: flags } : {}),
            },
            { requestId: ctx.correlationId, signal: abort },
          );
        } catch (err) {
          throw mapUpstreamException(err);
        }
        const text = (await readAll(decodedBody(res.body, res.headers['content-encoding']), MAX_COUNT_REPLY)).toString('utf8');
        ctx.upstreamEnd = performance.now();
        if (res.status >= 400) throw mapUpstreamStatus(res.status, res.headers, text);
        ctx.status = res.status;
        await reply.code(res.status).header('content-type', 'application/json').header('x-ibex-token-count', 'provider').send(text);
        return;
      }
      const estimate = Math.ceil(Buffer.byteLength(JSON.stringify({ system: body.system, messages: body.messages, tools: body.tools ?? null })) / 4);
      ctx.status = 200;
      await reply.code(200).header('x-ibex-token-count', 'estimate').send({ input_tokens: estimate });
    } catch (err) {
      const e = err instanceof IbexError || err instanceof UpstreamPassthroughError ? err : new IbexError('IBEX_ERR_INTERNAL');
      if (e !== err) deps.logError(`count_tokens failed (request ${ctx.requestId})`, err);
      ctx.status = e.status;
      ctx.errorCode = e.code;
      const b = e.toBody().error;
      if (!reply.sent) await reply.code(e.status).headers(e.headers).send(renderError({ status: e.status, code: e.code, type: b.type, message: b.message, param: b.param }));
    } finally {
      const trace = buildTrace(ctx, performance.now());
      deps.recorders.trace(trace);
      deps.recorders.observe?.(trace, ctx);
    }
  };
}
