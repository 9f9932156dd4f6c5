// Routes forwarded as they are, after auth (hook), the agent check and rate limits, with a trace:
// the stateful Responses routes (`GET|DELETE /v1/responses/{id}`, cancel, input_items,
// input_tokens), `GET /v1/models/{id}`, and the allowlisted `/v1/*` prefixes (audio, images…). The
// body is never parsed or buffered: it is streamed upstream as it arrives (multipart uploads
// included), and the answer is streamed back. No directive, no session, no checkpoint.
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IbexError, UpstreamPassthroughError } from '../errors.js';
import { mapUpstreamException, mapUpstreamStatus } from '../providers/openai/error-map.js';
import { RequestContext } from './context.js';
import { checkRateLimits } from './rate-limit.js';
import { decodedBody, readAll } from './decode.js';
import { passthroughHeaders } from './passthrough-headers.js';
import { buildTrace } from './record.js';
import type { PipelineDeps } from './handle.js';
import type { Provider } from '../providers/types.js';
import { AbortEmitter } from '../util/abort-emitter.js';
import { callerHeaders } from './caller-headers.js';

/** Caller headers that describe the body or select API behaviour; everything else stays here. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'openai-beta', 'accept'];
const ERROR_BODY_MAX = 64 * 1024;

export function createRelayHandler(
  deps: Pick<PipelineDeps, 'verifyAgent' | 'rateLimiter' | 'providers' | 'recorders' | 'inflight' | 'logError' | 'responseLinks'>,
) {
  return function relay(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const p = run(deps, req, reply);
    deps.inflight.add(p);
    return p;
  };
}

async function run(deps: Parameters<typeof createRelayHandler>[0], req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const ctx = new RequestContext(req.id, String(reply.getHeader('x-request-id') ?? req.id), performance.now() - req.authMs);
  ctx.bytesIn = Number(req.headers['content-length'] ?? 0) || 0;
  const abort = new AbortEmitter();
  const onClose = () => {
    if (!reply.raw.writableFinished) {
      ctx.clientAborted = true;
      abort.abort();
    }
  };
  reply.raw.once('close', onClose);
  const headers: Record<string, string> = {};
  try {
    const principal = req.principal;
    if (!principal) throw new IbexError('IBEX_ERR_INVALID_API_KEY');
    ctx.principal = principal;
    ctx.stages.auth = req.authMs;
    ctx.begin();
    const agentHeader = req.headers['x-ibex-agent'];
    const agent = await deps.verifyAgent(principal, typeof agentHeader === 'string' ? agentHeader : undefined);
    ctx.agent = agent;
    ctx.end('agent');
    const limits = await checkRateLimits(deps.rateLimiter, { patId: principal.patId, patRpm: principal.rpm, agent: agent.name, agentRpm: agent.rpm });
    if (limits) Object.assign(headers, limits);
    ctx.end('rate_limit');

    // A stored Response lives in the upstream account that created it (docs/providers.md, stateful
    // continuations): its routes go to that provider, with that key. Anything else, or an id this
    // process does not know (nor the session store), goes to the first provider.
    const id = storedResponseId(req);
    // Another agent's stored Response (its content, its input items) is not this agent's to read or delete.
    const known = id ? deps.responseLinks.resolve(id) : undefined;
    const owner = (known instanceof Promise ? await known : known)?.agent;
    if (owner !== undefined && owner !== agent.name) {
      throw new IbexError('IBEX_ERR_AGENT_FORBIDDEN', { message: 'This response belongs to another agent.', param: null });
    }
    const pin = id ? storedResponseAffinity(deps, id) : null;
    const provider = pin?.provider ?? deps.providers.default;
    ctx.provider = provider.id;
    headers['x-ibex-provider'] = provider.id;
    const forwarded = callerHeaders(FORWARDED_REQUEST_HEADERS, req.headers) ?? undefined;
    const hasBody = req.method !== 'GET' && req.method !== 'DELETE' && req.body !== undefined;
    ctx.upstreamStart = performance.now();
    let res;
    try {
      res = await provider.send(
        { method: req.method as 'GET' | 'POST' | 'DELETE', path: req.url.replace(/^\/v1/, ''), body: hasBody ? (req.body as Readable) : undefined, headers: forwarded },
        { requestId: ctx.correlationId, signal: abort, ...(pin?.keyIndex != null ? { keyIndex: pin.keyIndex } : {}) },
      );
    } catch (err) {
      ctx.upstreamEnd = performance.now();
      throw mapUpstreamException(err);
    }
    ctx.upstreamHeaders = performance.now();
    const body = decodedBody(res.body, res.headers['content-encoding']);
    if (res.status >= 400) {
      const text = (await readAll(body, ERROR_BODY_MAX).catch(() => Buffer.alloc(0))).toString('utf8');
      ctx.upstreamEnd = performance.now();
      throw mapUpstreamStatus(res.status, res.headers, text);
    }
    ctx.status = res.status;
    body.once('end', () => (ctx.upstreamEnd = performance.now()));
    body.on('data', (c: Buffer) => (ctx.bytesOut += c.length));
    const contentType = res.headers['content-type'];
    await reply
      .code(res.status)
      .headers(passthroughHeaders(res.headers, headers))
      .headers(headers)
      .header('content-type', typeof contentType === 'string' ? contentType : 'application/octet-stream')
      .send(body);
  } catch (err) {
    const e = err instanceof IbexError || err instanceof UpstreamPassthroughError ? err : new IbexError('IBEX_ERR_INTERNAL');
    if (e === err) {
      // expected: recorded in the trace
    } else deps.logError(`relay failed (request ${ctx.requestId})`, err);
    if (ctx.clientAborted) {
      // The caller left first: the failure after is its consequence (as in handle.ts' sendError).
      ctx.status = 499;
    } else {
      ctx.status = e.status;
      ctx.errorCode = e.code;
      if (!reply.sent && !reply.raw.destroyed) await reply.code(e.status).headers(headers).headers(e.headers).send(e.toBody());
    }
  } finally {
    reply.raw.off('close', onClose);
    if (ctx.clientAborted && ctx.status < 400) ctx.status = 499;
    const trace = buildTrace(ctx, performance.now());
    deps.recorders.trace(trace);
    deps.recorders.observe?.(trace, ctx);
  }
}

/** The id a `/v1/responses/{id}…` route names; null on any other route. */
function storedResponseId(req: FastifyRequest): string | null {
  if (!req.routeOptions.url?.startsWith('/v1/responses/:id')) return null;
  return (req.params as { id?: string }).id || null;
}

/** The provider (and key) that created the stored Response `id`, when known. */
function storedResponseAffinity(deps: Pick<PipelineDeps, 'providers' | 'responseLinks'>, id: string): { provider: Provider; keyIndex: number | null } | null {
  const stateAt = deps.responseLinks.stateAt(id);
  const provider = stateAt ? deps.providers.get(stateAt.provider) : undefined;
  return provider ? { provider, keyIndex: stateAt!.keyIndex } : null;
}
