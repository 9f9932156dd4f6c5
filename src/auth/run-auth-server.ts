// `ibex auth-server`: opens the configured stores and serves the Auth gRPC service until SIGINT/SIGTERM.
import type { IbexConfig } from '../config.js';
import { UserError } from '../errors.js';
import { createLogger } from '../log.js';
import { openStores } from '../stores/factory.js';
import { stopOnSignals } from '../util/shutdown.js';
import { startAuthServer } from './grpc-server.js';

export async function runAuthServer(config: IbexConfig, opts: { port: number; host: string }): Promise<void> {
  const log = createLogger(config.logLevel);
  const stores = await openStores(config, { log: (line) => log.info(line) });
  for (const line of stores.describe()) log.info(line);
  // Like `ibex serve`: the auth server may be the first process to touch a fresh store.
  await stores.migrate(); // each store logs the migrations it applies
  let server;
  try {
    server = await startAuthServer({
      port: opts.port,
      host: opts.host,
      tokens: stores.tokens,
      revocations: stores.revocations,
      bus: stores.bus,
      log: (line) => log.warn(line),
    });
  } catch (err) {
    await stores.close().catch(() => {});
    throw new UserError(
      `auth-server could not start: ${(err as Error).message}`,
      'check that the port is free and the store is reachable',
    );
  }
  log.info(`auth-server listening on grpc://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${server.port}`);

  stopOnSignals(log, async (signal) => {
    log.info(`${signal}: stopping auth-server`);
    await server.close();
    await stores.close();
  });
}
