// The core request path in process (issue 17's tests): a fastify app with the protocol handlers of
// src/pipeline/handle.ts over fake auth and in-memory parts, a mock upstream per wire format, and the
// policy, cache and telemetry stages wired as the gateway wires them. Each PAT-less request names its
// agent in X-Ibex-Agent.
import Fastify, { type FastifyInstance } from 'fastify';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../../src/mock/server.js';
import { ProviderRegistry } from '../../src/providers/index.js';
import { HttpProvider } from '../../src/providers/http-provider.js';
import { KINDS } from '../../src/providers/kinds.js';
import { createProtocolHandler, type PipelineDeps } from '../../src/pipeline/handle.js';
import { PolicyStage, policyRunOf } from '../../src/pipeline/policy-stage.js';
import { cacheStatusOf, type CacheStage } from '../../src/pipeline/cache-stage.js';
import { createJudgeChat } from '../../src/policies/judge-client.js';
import { MemoryResponseCache } from '../../src/cache/memory.js';
import { MemoryRateLimiter } from '../../src/stores/memory/rate-limiter.js';
import { ResponseLinks } from '../../src/sessions/response-links.js';
import type { AgentFileConfig } from '../../src/config/types.js';
import type { InboundProtocol } from '../../src/protocols/types.js';
import { NO_SPEND_LIMITS, type CheckpointInput, type Trace } from '../../src/stores/ports.js';
import type { Telemetry } from '../../src/otel/index.js';
import { openAIChat } from '../../src/protocols/openai-chat/protocol.js';
import { openAIResponses } from '../../src/protocols/openai-responses/protocol.js';
import { openAICompletions } from '../../src/protocols/openai-completions/protocol.js';
import * as anthropic from '../../src/protocols/anthropic-messages/index.js';
import type { RequestContext } from '../../src/pipeline/context.js';

/** Anthropic Messages as an InboundProtocol (not routed by the gateway yet), from its folder's exports. */
export const anthropicMessages: InboundProtocol<anthropic.MessagesBody> = {
  name: 'anthropic-messages',
  upstreamPath: '/v1/messages',
  parseRequest: anthropic.parseRequest,
  placeDirective: (b, t) => anthropic.placeDirective(b, t),
  recordedMessages: (b) => anthropic.recordedInput(b).messages as unknown[],
  summarise: anthropic.summarise,
  createReassembler: anthropic.createReassembler,
  renderError: anthropic.renderError,
  streamErrorEvent: anthropic.streamErrorEvent,
};

const PROVIDER_OPTS = {
  connections: 8,
  connectTimeoutMs: 2000,
  ttfbTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  retry: { maxRetries: 0, minDelayMs: 10, maxRetryAfterMs: 100 },
};

export interface TestPipeline {
  url: string;
  app: FastifyInstance;
  mock: MockUpstream;
  mockAnthropic: MockUpstream;
  /** Requests the mocks received, in order */
  upstream: RecordedRequest[];
  traces: Trace[];
  checkpoints: CheckpointInput[];
  /** Policy summaries and cache statuses, as the gateway's observer sees them */
  notes: { policy: string | null; cache: string | null }[];
  agents: Record<string, AgentFileConfig>;
  post(path: string, agent: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startPipeline(opts: { agents: Record<string, AgentFileConfig>; baseDir?: string; telemetry?: Telemetry | null; chunks?: number }): Promise<TestPipeline> {
  const upstream: RecordedRequest[] = [];
  const mock = await startMockUpstream({ port: 0, chunks: opts.chunks ?? 6, onRequest: (r) => upstream.push(r) });
  const mockAnthropic = await startMockUpstream({ port: 0, protocol: 'anthropic', chunks: opts.chunks ?? 6, onRequest: (r) => upstream.push(r) });
  const providers = new ProviderRegistry()
    .register(
      new HttpProvider(
        { id: 'openai', kind: KINDS.openai, baseUrl: mock.url, keys: [{ value: 'sk-test-upstream-key-0123456789', masked: 'sk-…6789' }], keyStrategy: 'round_robin', cooldownMs: 60_000, headers: {} },
        PROVIDER_OPTS,
      ),
    )
    .register(
      new HttpProvider(
        { id: 'claude', kind: KINDS.anthropic, baseUrl: mockAnthropic.origin, keys: [{ value: 'k-test', masked: 'k-…test' }], keyStrategy: 'round_robin', cooldownMs: 60_000, headers: {} },
        PROVIDER_OPTS,
      ),
    );
  const agents = opts.agents;
  const getAgentConfig = (a: string) => agents[a];
  const traces: Trace[] = [];
  const checkpoints: CheckpointInput[] = [];
  const notes: TestPipeline['notes'] = [];
  const rateLimiter = new MemoryRateLimiter();
  const cache: CacheStage = { store: new MemoryResponseCache(8 * 1024 * 1024), getAgentConfig, maxEntryBytes: 1024 * 1024 };
  const deps: PipelineDeps = {
    verifyAgent: async (_p, requested) => ({ ...NO_SPEND_LIMITS, name: requested ?? 'support', description: null, rpm: null, enabled: true, createdAt: 0 }),
    rateLimiter,
    resolveDirective: () => null,
    sessions: { claim: () => {}, known: () => {} },
    providers,
    recorders: {
      checkpoint: (cp) => checkpoints.push(cp),
      trace: (t) => traces.push(t),
      observe: (t, ctx: RequestContext) => {
        notes.push({ policy: policyRunOf(ctx)?.summary() ?? null, cache: cacheStatusOf(ctx) });
        opts.telemetry?.endRequest(ctx, t, notes[notes.length - 1]);
      },
    },
    inflight: { add: () => {} },
    logError: (m, e) => console.error(m, e),
    responseLinks: new ResponseLinks(),
    policies: new PolicyStage({ getAgentConfig, baseDir: () => opts.baseDir ?? process.cwd(), chat: createJudgeChat(providers), logError: (m, e) => console.error(m, e) }),
    cache,
    telemetry: opts.telemetry ?? null,
  };
  const app = Fastify();
  app.decorateRequest('principal', null);
  app.decorateRequest('authMs', 0);
  app.addHook('onRequest', async (req) => {
    req.principal = { patId: 'pat_test', hash: 'h', agents: [], rpm: null, expiresAt: null };
    req.authMs = 0;
  });
  const routes: [string, InboundProtocol<never>][] = [
    ['/v1/chat/completions', openAIChat as InboundProtocol<never>],
    ['/v1/responses', openAIResponses as InboundProtocol<never>],
    ['/v1/completions', openAICompletions as InboundProtocol<never>],
    ['/v1/messages', anthropicMessages as InboundProtocol<never>],
  ];
  for (const [path, protocol] of routes) app.post(path, createProtocolHandler(deps, protocol));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    app,
    mock,
    mockAnthropic,
    upstream,
    traces,
    checkpoints,
    notes,
    agents,
    post: (path, agent, body, headers = {}) =>
      fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ibex-agent': agent, ...headers }, body: JSON.stringify(body) }),
    async close() {
      await app.close();
      await providers.close();
      await Promise.all([mock.close(), mockAnthropic.close()]);
      rateLimiter.close();
    },
  };
}

/** An ibex.yaml agent entry, as the loader builds it. */
export function agent(policies: { use: string; [k: string]: unknown }[], cache?: { ttlMs: number }): AgentFileConfig {
  const refs = policies.map(({ use, ...options }) => ({ use, options }));
  return cache ? { policies: refs, cache } : { policies: refs };
}
