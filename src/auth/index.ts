// Assembles the auth stage: AuthCache (PAT → principal), AgentCache (agent-verify), and the
// RevocationWatcher that evicts from both. In-process it reads the stores directly; with
// `authUrl` (IBEX_AUTH_URL) tokens are validated, indexed and revocations followed through a
// remote `ibex auth-server`, with the local bus and revocation log as extra sources.
import type { AuthLookupResult } from '../metrics.js';
import type { AgentStore, Bus, RevocationLog, TokenStore } from '../stores/ports.js';
import { AgentCache, type AgentCacheOptions } from './agent-cache.js';
import { AuthCache, type AuthCacheOptions, type AuthOutcome } from './auth-cache.js';
import { GrpcTokenValidator, type GrpcTokenValidatorOptions } from './grpc-client.js';
import type { TokenIndexSource, TokenValidator } from './principal.js';
import { RevocationWatcher } from './revocation-watcher.js';
import { StoreTokenValidator } from './store-validator.js';

export { AuthCache, type AuthCacheOptions, type AuthCacheStats, type AuthOutcome } from './auth-cache.js';
export { AgentCache, type AgentCacheOptions, type AgentCacheStats } from './agent-cache.js';
export { verifyAgent, AGENT_HEADER } from './verify-agent.js';
export { RevocationWatcher, type RevocationWatcherStats, type RevocationStream } from './revocation-watcher.js';
export { GrpcTokenValidator, AuthServerError, type GrpcTokenValidatorOptions } from './grpc-client.js';
export { startAuthServer, type AuthServer, type AuthServerOptions } from './grpc-server.js';
export { StoreTokenValidator } from './store-validator.js';
export type { Principal, TokenValidator, TokenIndexSource } from './principal.js';

/** The slice of `Metrics` (src/metrics.ts) auth records into. */
export interface AuthMetrics {
  recordAuthLookup(result: AuthLookupResult): void;
  recordRevocationPropagation(ms: number): void;
}

export interface CreateAuthOptions {
  tokens: TokenStore;
  agents: AgentStore;
  revocations: RevocationLog;
  bus: Bus;
  /** grpc://host:port of `ibex auth-server`; unset → in-process */
  authUrl?: string;
  log?: (line: string) => void;
  /** Revocation-log and token-index poll (the push paths' backstop); capped at 1000 ms. */
  pollIntervalMs?: number;
  metrics?: AuthMetrics;
  /** Tuning of the PAT cache (budget, TTLs, sizes). */
  cache?: Omit<AuthCacheOptions, 'validator' | 'index' | 'bus' | 'log' | 'onOutcome' | 'pollIntervalMs'>;
  agentCache?: AgentCacheOptions;
  grpc?: Omit<GrpcTokenValidatorOptions, 'url' | 'log'>;
}

export interface Auth {
  authCache: AuthCache;
  agentCache: AgentCache;
  watcher: RevocationWatcher;
  validator: TokenValidator;
  /** Starts the revocation watcher, then loads the bloom filter. Resolves even if a backend is down (it retries). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** "auth: in-process" or "auth: grpc://host:port" */
  describe(): string;
}

const METRIC_OUTCOMES: ReadonlySet<AuthOutcome> = new Set(['hit', 'miss', 'bloom_reject', 'budget_reject']);

export function createAuth(opts: CreateAuthOptions): Auth {
  const log = opts.log ?? (() => {});
  const grpcClient = opts.authUrl ? new GrpcTokenValidator({ ...opts.grpc, url: opts.authUrl, log }) : null;
  const validator: TokenValidator = grpcClient ?? new StoreTokenValidator(opts.tokens);
  const index: TokenIndexSource = grpcClient ?? opts.tokens;
  const metrics = opts.metrics;

  const authCache = new AuthCache({
    ...opts.cache,
    validator,
    index,
    bus: opts.bus,
    log,
    pollIntervalMs: opts.pollIntervalMs,
    onOutcome: metrics
      ? (o) => {
          if (METRIC_OUTCOMES.has(o)) metrics.recordAuthLookup(o as AuthLookupResult);
        }
      : undefined,
  });
  const agentCache = new AgentCache(opts.agents, opts.agentCache);
  const watcher = new RevocationWatcher({
    authCache,
    agentCache,
    revocations: opts.revocations,
    bus: opts.bus,
    streams: grpcClient ? [grpcClient.revocationStream()] : [],
    pollIntervalMs: opts.pollIntervalMs,
    log,
    onPropagation: metrics ? (ms) => metrics.recordRevocationPropagation(ms) : undefined,
  });

  return {
    authCache,
    agentCache,
    watcher,
    validator,
    async start() {
      // Watcher first: a revocation landing while the bloom filter loads is not missed.
      await watcher.start();
      await authCache.start();
    },
    async stop() {
      await authCache.stop();
      await watcher.stop();
      grpcClient?.close();
    },
    describe() {
      return grpcClient ? `auth: ${grpcClient.url}` : 'auth: in-process';
    },
  };
}
