import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { isStoreError, storeUnavailable } from '../src/cli/store-errors.js';

export function register(program: Command): void {
  program
    .command('auth-server')
    .description('run the gRPC auth service alone (gateways use it with IBEX_AUTH_URL=grpc://host:port)')
    .option('--port <n>', 'listen port', '50051')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(async (opts: { port: string; host: string }) => {
      const port = parseIntFlag('--port', opts.port, 0, 65535)!;
      const config = loadConfig();
      const { runAuthServer } = await import('../src/auth/run-auth-server.js');
      // It opens the stores like `serve`: a store it cannot use reads the same as for every command.
      await runAuthServer(config, { port, host: opts.host }).catch((err: unknown) => {
        throw isStoreError(err) ? storeUnavailable(err, config) : err;
      });
    });
}
