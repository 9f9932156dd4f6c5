// The policy stage (issue 17): what the core calls to run an agent's policies (src/policies/). Three
// points on the request path, each a no-op for an agent without policies:
//   runRequestPolicies   after the directive is resolved, before routing: may rewrite or refuse the request
//   policyTransform      the chunk transform forward.ts applies to a streamed reply
//   runResponsePolicies  on a complete (non-streamed) reply, before it is sent
// An agent's policies are loaded once per version of its ibex.yaml entry (a reload builds new ones).
import type { AgentFileConfig } from '../config/types.js';
import { ERRORS, IbexError } from '../errors.js';
import type { InboundProtocol, ParsedRequest } from '../protocols/types.js';
import { loadPolicies } from '../policies/registry.js';
import { PolicyRun } from '../policies/run.js';
import type { ChunkTransform } from '../policies/stream/index.js';
import type { Policy, PolicyEnv } from '../policies/types.js';
import type { RequestContext, StageName } from './context.js';

export interface PolicyStageDeps {
  /** The agent's ibex.yaml entry (`agents.<name>`); undefined when it has none */
  getAgentConfig(agent: string): AgentFileConfig | undefined | null;
  /** Where relative policy module paths are resolved (ibex.yaml's folder) */
  baseDir(): string;
  /** The judge's access to a model through this gateway (createJudgeChat) */
  chat?: PolicyEnv['chat'];
  logError(message: string, err: unknown): void;
}

type Loaded = { policies: Policy[] } | { error: Error } | { pending: Promise<Policy[]> };

export class PolicyStage {
  private readonly loaded = new WeakMap<object, Loaded>();

  constructor(private readonly deps: PolicyStageDeps) {}

  /** The agent's policies; [] when it has none. Throws (500) when they failed to load. */
  async policiesFor(agent: string): Promise<readonly Policy[]> {
    const specs = this.deps.getAgentConfig(agent)?.policies;
    if (!specs || specs.length === 0) return [];
    let l = this.loaded.get(specs);
    if (!l) {
      const pending = loadPolicies(specs, this.deps.baseDir(), this.deps.chat ? { chat: this.deps.chat } : {});
      l = { pending };
      this.loaded.set(specs, l);
      pending.then(
        (policies) => this.loaded.set(specs, { policies }),
        (error: Error) => {
          this.loaded.set(specs, { error });
          this.deps.logError(`policies of agent ${agent} could not be loaded (requests of this agent fail until ibex.yaml is fixed)`, error);
        },
      );
    }
    if ('policies' in l) return l.policies;
    if ('error' in l) throw new IbexError('IBEX_ERR_INTERNAL', { message: `The policies of agent ${agent} could not be loaded: ${l.error.message}` });
    try {
      return await l.pending;
    } catch (err) {
      throw new IbexError('IBEX_ERR_INTERNAL', { message: `The policies of agent ${agent} could not be loaded: ${(err as Error).message}` });
    }
  }
}

const runs = new WeakMap<RequestContext, PolicyRun>();

/** The policy run of a request (its decisions), for the trace and checkpoint (record.ts), OTel and the debug log. */
export function policyRunOf(ctx: RequestContext): PolicyRun | undefined {
  return runs.get(ctx);
}

/**
 * Runs onRequest of the agent's policies on `body`, the body that goes upstream (changed in place;
 * `parsed.model` and ctx.model follow a changed model). That is not always `parsed.body`: a protocol's
 * prepareUpstream may have made a copy (a chat stream asking for usage), and a rewrite of the
 * original would then never reach the provider nor the checkpoint. Returns the run for the later
 * points, null when the agent has no policies. Throws 400 policy_violation when a policy refuses.
 */
export async function runRequestPolicies(
  stage: PolicyStage | undefined,
  ctx: RequestContext,
  protocol: InboundProtocol,
  parsed: ParsedRequest,
  body: ParsedRequest['body'],
): Promise<PolicyRun | null> {
  if (!stage || !ctx.agent) return null;
  const policies = await stage.policiesFor(ctx.agent.name);
  if (policies.length === 0) return null;
  const run = new PolicyRun(policies, ctx.agent.name, protocol.name);
  runs.set(ctx, run);
  const model = await run.onRequest(body, parsed.model, parsed.stream);
  if (model !== parsed.model) parsed.model = ctx.model = model;
  // 'policy' is not (yet) a StageName of context.ts: stages are recorded by name, any name works.
  ctx.end('policy');
  return run;
}

/** The chunk transform of a streamed reply; undefined when no policy looks at streams. */
export function policyTransform(run: PolicyRun | null, ctx: RequestContext, protocol: InboundProtocol): ChunkTransform | undefined {
  const filter = run?.streamFilter((e, sent) => protocol.streamErrorEvent(e, sent));
  if (!filter || !run) return undefined;
  const violation = ERRORS.IBEX_ERR_POLICY_VIOLATION;
  return async (chunk) => {
    const out = await filter(chunk);
    // A stopped stream is recorded as the policy's, not as the upstream error the in-band event looks like.
    if (run.streamStopped && ctx.errorCode !== violation.code) {
      ctx.errorCode = violation.code;
      ctx.status = violation.status;
    }
    return out;
  };
}

/** onResponse of the agent's policies on a complete reply: the reply to send (maybe rewritten). Throws policy_violation. */
export async function runResponsePolicies(run: PolicyRun | null, ctx: RequestContext, protocol: InboundProtocol, json: Buffer): Promise<Buffer> {
  if (!run || !run.policies.some((p) => p.onResponse)) return json;
  const facts = protocol.summarise(JSON.parse(json.toString('utf8')));
  const r = await run.onResponse(json, facts, ctx.model ?? '', (j) => protocol.summarise(j));
  if (r.reply !== json) {
    // what the checkpoint keeps is what the caller got
    ctx.reply = r.facts.text !== null ? r.facts.text : r.facts.toolCalls.length ? JSON.stringify({ tool_calls: r.facts.toolCalls }) : null;
    ctx.bytesOut = r.reply.length;
  }
  return r.reply;
}
