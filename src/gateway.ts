// Composition root of `ibex serve`: opens the configured stores, migrates them, wires auth, directives,
// providers, the write-behind queues and the HTTP app, and owns the shutdown order:
//   stop accepting → finish in-flight requests (up to the drain timeout) → flush checkpoints and traces
//   → close stores.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { IbexConfig } from './config.js';
import { UserError } from './errors.js';
import { registerSecret, type Logger } from './log.js';
import { openStores, type OpenedStores } from './stores/factory.js';
import { createAuth } from './auth/index.js';
import { verifyAgent } from './auth/verify-agent.js';
import { DirectiveResolver } from './directives/resolver.js';
import { createProviders, type ProviderRegistry } from './providers/index.js';
import { startProviderProbe } from './providers/probe.js';
import { parseDuration } from './util/duration.js';
import { defaultsFromEnv, findConfigPath, loadIbexYaml, watchIbexYaml, type IbexFileConfig } from './config/ibex-yaml.js';
import { createProtocolHandler, type PipelineDeps } from './pipeline/handle.js';
import { createRelayHandler } from './pipeline/relay.js';
import { InflightBodies } from './server/inflight-bodies.js';
import { createCountTokensHandler } from './pipeline/count-tokens.js';
import { errorBodyFor } from './server/route-protocol.js';
import { ResponseLinks } from './sessions/response-links.js';
import { TRANSLATED_TURNS_MAX_BYTES, TranslatedTurns } from './pipeline/translated-turns.js';
import { buildApp } from './server/app.js';
import { createMetrics, type Metrics } from './metrics.js';
import { BatchQueue } from './traces/batch-queue.js';
import { TraceEmitter } from './traces/emitter.js';
import { ThrottledLog } from './traces/log-throttle.js';
import { ensureAdminToken } from './admin-token.js';
import { readOnlyAdminToken } from './admin/auth.js';
import type { CheckpointInput, TraceSink } from './stores/ports.js';
import { SqliteWriter } from './stores/sqlite/writer.js';
import { InflightTracker } from './util/inflight.js';
import { SessionOwners } from './sessions/owners.js';
import { UnauthenticatedTraceGate, type AuthHookDeps } from './server/auth-hook.js';
import { rejectedTrace } from './pipeline/rejected.js';
import { acceptRequestId } from './pipeline/validate.js';
import { RefusedCheckpoints } from './sessions/refused.js';
// [issue 17] policies, response cache, OpenTelemetry, request debug log
import type { AgentFileConfig } from './config/types.js';
import { PolicyStage, policyRunOf } from './pipeline/policy-stage.js';
import { cacheStatusOf, type CacheStage } from './pipeline/cache-stage.js';
import { createJudgeChat } from './policies/judge-client.js';
import { createResponseCache } from './cache/index.js';
import { initTelemetry } from './otel/index.js';
import { debugRecord, openDebugLog } from './debug-log/index.js';
import { startRetentionJob } from './ledger/retention-job.js';
import { retentionSettings } from './ledger/retention-settings.js';
import { pruneNow } from './ledger/prune.js';
import { SpendGuard } from './usage/guard.js';
import { PriceTable } from './usage/prices.js';

export interface Gateway {
  app: FastifyInstance;
  stores: OpenedStores;
  metrics: Metrics;
  url: string;
  adminToken: string;
  /** Graceful stop; resolves when everything is flushed and closed. */
  close(): Promise<void>;
}

function listenError(err: NodeJS.ErrnoException, config: IbexConfig): Error {
  const where = `${config.host}:${config.port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new UserError(`cannot listen on ${where}: the port is in use`, 'stop the other process or choose another --port (0 = any free port)');
    case 'EACCES':
      return new UserError(`cannot listen on ${where}: permission denied`, 'use a port above 1023 or run with the needed privileges');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`cannot listen on ${where}: no such address on this machine`, 'use --host 127.0.0.1, 0.0.0.0 or an address of this machine');
    default:
      return err;
  }
}

export interface StartGatewayOptions {
  log: Logger;
  /** Stores already opened by the caller (tests); otherwise opened from config */
  stores?: OpenedStores;
  /** [issue 17] An agent's ibex.yaml entry (policies, cache); absent: no agent has any */
  getAgentConfig?: (agent: string) => AgentFileConfig | undefined;
  /** [issue 17] The folder relative policy module paths are resolved against (ibex.yaml's); default IBEX_HOME */
  configDir?: string;
  /**
   * Warn at start when the provider comes from the environment and has no key (`ibex serve` without
   * --mock): the first-run mistake. Providers of ibex.yaml say "no key" in their own log line.
   */
  warnMissingKey?: boolean;
}

export async function startGateway(config: IbexConfig, opts: StartGatewayOptions): Promise<Gateway> {
  const { log } = opts;
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const metrics = createMetrics();

  let failOpenLogged = 0;
  const budgetErrors = new ThrottledLog((level, msg) => log[level](msg), 10_000);
  const stores =
    opts.stores ??
    (await openStores(config, {
      log: (line) => log.info(line),
      onRateLimitFailOpen: (err) => {
        metrics.recordRateLimitFailOpen();
        if (Date.now() - failOpenLogged > 10_000) {
          failOpenLogged = Date.now();
          log.warn(`rate limits fail open: the limiter is unavailable (${err.message})`);
        }
      },
      onBudgetStoreError: (err, mode) => {
        metrics.recordBudgetStoreError(mode);
        budgetErrors.hit('warn', 1, (n) => `budgets: ${n} call(s) to the budget store failed, handled as "${mode}" (IBEX_BUDGET_ON_STORE_ERROR): ${err.message}`);
      },
    }));
  for (const line of stores.describe()) log.info(line);

  await stores.migrate(); // each store logs the migrations it applies

  const auth = createAuth({
    tokens: stores.tokens,
    agents: stores.agents,
    revocations: stores.revocations,
    bus: stores.bus,
    authUrl: config.authUrl,
    pollIntervalMs: config.pollIntervalMs,
    metrics,
    log: (line: string) => log.info(line),
  });
  await auth.start();
  log.info(auth.describe());

  const resolver = new DirectiveResolver({
    store: stores.directives,
    bus: stores.bus,
    pollIntervalMs: config.pollIntervalMs,
    // In embedded mode the resolver's own LRU is the only cache; Redis adds a tier shared by replicas.
    shared: config.redisUrl ? stores.directiveCache : undefined,
    log: (lvl, m) => log[lvl](m),
  });
  resolver.start();

  registerSecret(config.upstreamKey);
  // Providers and models: ibex.yaml when there is one, else today's environment (one `openai` provider).
  const configPath = findConfigPath(process.env, config.home);
  const yamlEnv = providerEnv(config);
  let fileConfig = configPath ? loadIbexYaml(configPath, yamlEnv) : defaultsFromEnv(yamlEnv);
  const providers = createProviders(config, fileConfig);
  logProviders(log, fileConfig);
  if (opts.warnMissingKey && fileConfig.providersOrigin === 'env' && !config.upstreamKey) {
    log.warn(
      `no upstream key: OPENAI_API_KEY is not set, so requests reach ${config.upstreamUrl} without credentials ` +
        '(a real provider refuses them: 502 upstream_auth_error). Set OPENAI_API_KEY, or run `ibex serve --mock` to try ibex without a provider',
    );
  }

  // Embedded mode: SQLite writes run in a worker thread, off the request path's event loop.
  const sqliteWriter = config.databaseUrl || opts.stores ? null : new SqliteWriter(join(config.home, 'ibex.db'));
  const traceSink: TraceSink =
    sqliteWriter && !config.clickhouseUrl
      ? { write: (b) => sqliteWriter.write(b), list: (f) => stores.traces.list(f), usage: (q) => stores.traces.usage(q) }
      : stores.traces;
  // Retention (issue 15): bounded batched deletes in the background; in embedded mode on the writer's connection.
  const retention = startRetentionJob({
    prune: (o) => (sqliteWriter ? sqliteWriter.prune(o) : stores.sessions.prune(o)),
    settings: retentionSettings(config),
    relationalTraces: !config.clickhouseUrl,
    log: (level, m) => log[level](m),
  });
  const refusedCheckpoints = new RefusedCheckpoints((level, msg) => log[level](msg));
  const writeCheckpoints = sqliteWriter
    ? (batch: CheckpointInput[]) => sqliteWriter.appendCheckpoints(batch).then(refusedCheckpoints.record)
    : (batch: CheckpointInput[]) => stores.sessions.appendCheckpoints(batch).then(refusedCheckpoints.record);
  // Session claims go where the checkpoints go: embedded mode's writer keeps SQLite's write lock off the event loop.
  const claimErrors = new ThrottledLog((level, msg) => log[level](msg), 10_000);
  const sessionOwners = new SessionOwners(sqliteWriter ?? stores.sessions, {
    onClaimError: (err) =>
      claimErrors.hit('warn', 1, (n) => `sessions: ${n} claim(s) failed, named sessions refused with 503 (the session store did not answer): ${err.message}`),
  });

  const spoolRoot = join(config.home, 'spool');
  const queueLog = (level: 'info' | 'warn' | 'error', msg: string) => log[level](msg);
  const traces = new TraceEmitter({ sink: traceSink, bus: stores.bus, spoolDir: join(spoolRoot, 'traces'), log: queueLog });
  const checkpoints = new BatchQueue<CheckpointInput>({
    name: 'checkpoints',
    write: writeCheckpoints,
    spoolDir: join(spoolRoot, 'checkpoints'),
    log: queueLog,
  });
  for (const [name, queue] of [
    ['traces', traces],
    ['checkpoints', checkpoints],
  ] as const) {
    metrics.registerQueue(name, () => {
      const s = queue.stats();
      return { depth: s.queued, spoolBytes: s.spoolBytes };
    });
    // The queues count drops and dead letters themselves; the counters catch up at each scrape.
    let dropped = 0;
    let dead = 0;
    metrics.registerCollector(() => {
      const s = queue.stats();
      if (s.dropped > dropped) metrics.recordDropped(name, s.dropped - dropped);
      dropped = s.dropped;
      if (s.deadLettered > dead) metrics.recordDeadLettered(name, s.deadLettered - dead);
      dead = s.deadLettered;
    });
  }

  // Providers come from the current registry (an ibex.yaml reload replaces it), read at each scrape.
  metrics.registerProviders(() =>
    pipeline.providers.status().map((s) => ({ id: s.id, openCircuits: s.health.breakers.filter((b) => b.state === 'open').length })),
  );

  const adminToken = ensureAdminToken(config);
  registerSecret(adminToken);
  // [issue 17] policies, response cache, OpenTelemetry (loaded only with OTEL_EXPORTER_OTLP_ENDPOINT), debug log
  // Per-agent settings come from ibex.yaml (read per request: a reload applies at once).
  const getAgentConfig = opts.getAgentConfig ?? ((agent: string) => fileConfig.agents[agent]);
  const policyStage = new PolicyStage({
    getAgentConfig,
    baseDir: () => opts.configDir ?? (configPath ? dirname(configPath) : config.home),
    chat: createJudgeChat(providers),
    logError: (m, e) => log.error(m, e),
  });
  const responseCache = await createResponseCache(process.env, config.redisUrl);
  const cacheErrors = new ThrottledLog((level, msg) => log[level](msg), 10_000);
  const cacheStage: CacheStage = {
    store: responseCache.store,
    getAgentConfig,
    maxEntryBytes: responseCache.maxEntryBytes,
    onError: (err) => cacheErrors.hit('warn', 1, (n) => `cache: ${n} lookup(s)/store(s) failed, served as misses: ${(err as Error).message}`),
  };
  log.info(responseCache.store.describe());
  const telemetry = await initTelemetry(process.env);
  if (telemetry) log.info(`telemetry: OTLP/HTTP traces to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`);
  const debugLog = openDebugLog(process.env, config.home);
  if (debugLog) log.info(`request debug log: ${debugLog.path}`);

  const adminReadToken = readOnlyAdminToken(process.env, adminToken);
  registerSecret(adminReadToken ?? undefined);
  const inflight = new InflightTracker();
  let draining = false;
  /** Set when shutdown closes the connections the drain left open: what ends then, we ended. */
  let cutting = false;

  // Requests without a valid PAT: always counted, traced at most once per client address per second.
  const unauthenticatedTraces = new UnauthenticatedTraceGate();
  const authDeps: AuthHookDeps = {
    // authenticate() rejects a missing, malformed or bad-checksum token itself, without a lookup.
    authenticate: (token) => auth.authCache.authenticate(token),
    renderError: errorBodyFor,
    onRejected: (req, err, authMs) => {
      metrics.recordAuthRejected();
      if (!unauthenticatedTraces.admit(req.ip)) return;
      const trace = rejectedTrace(req.id, acceptRequestId(req.headers['x-request-id'] as string | undefined) ?? req.id, err, authMs);
      traces.emit(trace);
      metrics.recordRequest(trace);
    },
  };
  // Prices: the built-in table with ibex.yaml's `pricing:` over it (read at start; a reload of the
  // file changes routing at once, prices at the next start).
  const spend = new SpendGuard({
    store: stores.budgets,
    prices: new PriceTable(fileConfig.pricing),
    resolveModel: (model) => {
      const r = pipeline.providers.route(model);
      return { provider: r.provider.id, model: r.model };
    },
    log: (level, message) => log[level](message),
  });
  const translatedTurns = new TranslatedTurns(TRANSLATED_TURNS_MAX_BYTES, stores.sessions);
  // Responses continuations: held in memory, and read from the session store by a process that does not hold them
  const linkErrors = new ThrottledLog((level, msg) => log[level](msg), 10_000);
  const recentLinkErrors = new ThrottledLog((level, msg) => log[level](msg), 10_000);
  const responseLinks = new ResponseLinks({
    store: stores.sessions,
    ...(stores.recentResponseLinks ? { recent: stores.recentResponseLinks } : {}),
    onRecentError: (err) => recentLinkErrors.hit('warn', 1, (n) => `sessions: ${n} response link read(s) from Redis failed, asked the session store instead: ${err.message}`),
    // Embedded: this process is the only writer, and holds in memory what it has not written yet
    ...(sqliteWriter ? { lateWaitsMs: [] } : {}),
    onLookupError: (err) =>
      linkErrors.hit('warn', 1, (n) => `sessions: ${n} response link lookup(s) failed, continuations refused with 503 (the session store did not answer): ${err.message}`),
  });
  const pipeline: PipelineDeps = {
    verifyAgent: (principal, requested) => verifyAgent(principal, requested, auth.agentCache),
    rateLimiter: stores.rateLimiter,
    spend,
    resolveDirective: (agent, sessionId, isNew) => resolver.resolve(agent, sessionId, isNew),
    directiveVersion: (agent, version) => stores.directives.get(agent, version),
    sessions: sessionOwners,
    providers,
    inflight,
    shuttingDown: () => cutting,
    logError: (m, e) => log.error(m, e),
    recorders: {
      checkpoint: (cp) => checkpoints.push(cp),
      trace: (t) => traces.emit(t),
      observe: (t, ctx) => {
        metrics.recordRequest(t);
        // [issue 17] the request's span and debug-log line, with its policy decisions and cache status
        if (telemetry || debugLog) {
          const notes = { policy: policyRunOf(ctx)?.summary() ?? null, cache: cacheStatusOf(ctx) };
          telemetry?.endRequest(ctx, t, notes);
          debugLog?.write(debugRecord(ctx, t, notes));
        }
      },
    },
    responseLinks,
    // [issue 17]
    policies: policyStage,
    cache: cacheStage,
    telemetry,
    translatedTurns,
  };
  metrics.registerTranslatedTurns(() => translatedTurns.bytes);

  const inflightBodies = new InflightBodies(config.maxInflightBodyBytes, () => metrics.recordServerBusy());
  const app = buildApp({
    protocolHandler: (protocol) => createProtocolHandler(pipeline, protocol),
    relay: createRelayHandler(pipeline),
    countTokens: createCountTokensHandler(pipeline),
    passthrough: config.passthrough,
    corsOrigins: config.corsOrigins,
    providers: () => pipeline.providers,
    auth: authDeps,
    bodyLimit: config.bodyLimit,
    inflightBodies,
    bus: stores.bus,
    adminToken,
    usage: (q) => stores.traces.usage(q),
    adminReadToken,
    adminStores: { ...stores, traces: traceSink },
    prune: ({ dryRun }) => pruneNow(stores, config, { dryRun }),
    metrics,
    ready: () => stores.ready(),
    isDraining: () => draining,
    logError: (m, e) => log.error(m, e),
  });

  // ibex.yaml reloads: a new registry serves new requests at once; the old one finishes what it has
  // in flight and is closed after the drain timeout. A bad file is refused (logged) and the old kept.
  const retired = new Set<ProviderRegistry>();
  const stopWatching = configPath
    ? watchIbexYaml(
        configPath,
        yamlEnv,
        (next) => {
          const old = pipeline.providers;
          fileConfig = next;
          pipeline.providers = createProviders(config, next);
          // watch.ts logged the reload itself; what the new file defines follows, as at start.
          logProviders(log, next, { header: false });
          retired.add(old);
          setTimeout(() => void old.close().catch(() => {}).then(() => retired.delete(old)), config.drainTimeoutMs).unref();
        },
        log,
      )
    : () => {};

  // Optional background probe of every provider (off unless IBEX_PROVIDER_PROBE_INTERVAL is set).
  const probeSetting = process.env.IBEX_PROVIDER_PROBE_INTERVAL;
  const probeEvery = probeSetting ? parseDuration(probeSetting) : null;
  if (probeSetting && !probeEvery) throw new UserError(`IBEX_PROVIDER_PROBE_INTERVAL: "${probeSetting}" is not a duration`, 'use e.g. 60s or 5m');
  const stopProbe = probeEvery ? startProviderProbe(() => pipeline.providers, probeEvery) : () => {};
  if (probeEvery) log.info(`providers: probed every ${probeEvery / 1000} s (GET /models)`);

  /** Stops everything started above, in dependency order; queues flush (or spool) before stores close. */
  const release = async () => {
    stopProbe();
    stopWatching();
    resolver.stop();
    await auth.stop();
    await retention.stop();
    await Promise.all([checkpoints.close(), traces.close()]);
    await sqliteWriter?.close();
    await Promise.all([pipeline.providers, ...retired].map((r) => r.close().catch(() => {})));
    // [issue 17]
    await Promise.all([telemetry?.shutdown(), debugLog?.close(), responseCache.store.close().catch(() => {})]);
    if (!opts.stores) await stores.close();
  };

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // Nothing is serving yet: undo what started, then report a fixable configuration problem.
    await release().catch(() => {});
    throw listenError(err as NodeJS.ErrnoException, config);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // Draining: the listener stays open so probes and load balancers get an answer, not a refused
      // connection: /readyz answers 503 "draining" and every new request 503 server_shutting_down
      // (routes/health.ts). Idle keep-alive sockets are closed; in-flight requests finish.
      draining = true;
      app.server.closeIdleConnections?.();
      const drained = await inflight.drain(config.drainTimeoutMs);
      if (!drained) log.warn(`shutdown: drain timeout (${config.drainTimeoutMs} ms) reached with requests still in flight`);
      // Whatever is cut from here on was ended by us, not by its caller (recorded as server_shutting_down).
      cutting = true;
      const stopped = app.close();
      app.server.closeAllConnections?.();
      // The requests cut just now record their checkpoint and trace when their handlers unwind, a few
      // ticks after their sockets are destroyed: wait for that (briefly) before closing the queues, or
      // every one of them is "pushed after close" and left in the spool instead of the store.
      if (!drained) await inflight.drain(2_000);
      await stopped.catch(() => {});
      await release();
    })());

  return { app, stores, metrics, url, adminToken, close };
}

/**
 * The environment ibex.yaml is read with: the upstream URL and key as resolved from flags, env or the
 * config file (and `serve --mock`'s mock), so the `openai` provider made when the file has no
 * `providers:` (or there is no file) points where `ibex serve` was told to.
 */
function providerEnv(config: IbexConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, IBEX_UPSTREAM_URL: config.upstreamUrl };
  if (config.upstreamKey) env.OPENAI_API_KEY = config.upstreamKey;
  return env;
}

function logProviders(log: Logger, file: IbexFileConfig, opts: { header: boolean } = { header: true }): void {
  if (opts.header) log.info(`config: ${file.path ?? 'no ibex.yaml (providers from the environment)'}`);
  for (const p of file.providers) {
    const keys = p.keys.length === 0 ? 'no key' : `${p.keys.length} key${p.keys.length > 1 ? 's' : ''} (${p.keyStrategy})`;
    log.info(`provider: ${p.name} (${p.kind}) ${p.baseUrl}, ${keys}`);
  }
  const aliases = Object.keys(file.models);
  if (aliases.length) log.info(`models: ${aliases.join(', ')}`);
}
