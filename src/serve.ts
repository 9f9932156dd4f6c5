// `ibex serve`: starts the gateway (and with --mock the mock upstream), handles first run and signals.
import type { IbexConfig } from './config.js';
import { createLogger } from './log.js';
import { startGateway } from './gateway.js';
import { stopOnSignals } from './util/shutdown.js';
import { createPat, createAgent } from './ops/identity.js';
import { setDirective } from './ops/directives.js';
import type { OpenedStores } from './stores/factory.js';
import { isStoreError, storeUnavailable } from './cli/store-errors.js';

export async function runServe(config: IbexConfig, opts: { mock: boolean }): Promise<void> {
  const log = createLogger(config.logLevel);
  let mock: { url: string; close(): Promise<void> } | null = null;
  if (opts.mock) {
    const { startMockUpstream } = await import('./mock/server.js');
    mock = await startMockUpstream({ port: 0 });
    config = { ...config, upstreamUrl: mock.url };
    log.info(`mock upstream: ${mock.url}`);
  }

  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { log, warnMissingKey: !mock });
  } catch (err) {
    // Nothing is serving: stop the mock as well, or its open port would keep this process alive after
    // the error (exit 1, like every other command that fails).
    await mock?.close().catch(() => {});
    // A store that cannot be reached reads the same as for every other command; anything else is a bug.
    throw isStoreError(err) ? storeUnavailable(err, config) : err;
  }
  log.info(`ibex listening on ${gateway.url}`);
  if (!config.databaseUrl) await firstRun(gateway.stores, gateway.url, log);

  stopOnSignals(log, async (signal) => {
    log.info(`${signal}: draining in-flight requests, flushing checkpoints and traces`);
    await gateway.close();
    await mock?.close();
    log.info('stopped');
  });
}

/** On an empty embedded store: a `demo` agent with a directive and a PAT, printed once with a curl line. */
async function firstRun(stores: OpenedStores, url: string, log: ReturnType<typeof createLogger>): Promise<void> {
  if ((await stores.agents.list()).length > 0) return;
  await createAgent(stores, { name: 'demo', description: 'created on first run' });
  await setDirective(stores, 'demo', 'You are a helpful assistant. Answer concisely.');
  const { token } = await createPat(stores, { agents: ['demo'], name: 'first-run' });
  log.info('first run: created agent "demo" with a directive and a PAT (shown once, below)');
  process.stdout.write(
    [
      '',
      `  PAT for agent demo: ${token}`,
      '',
      '  Try it:',
      `  curl -s ${url}/v1/chat/completions \\`,
      `    -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" \\`,
      `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
      '',
    ].join('\n') + '\n',
  );
}
