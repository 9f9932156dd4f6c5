import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { parseIntFlag } from '../src/cli/parse.js';

export function register(program: Command): void {
  program
    .command('auth-server')
    .description('run the gRPC auth service alone (gateways use it with IBEX_AUTH_URL=grpc://host:port)')
    .option('--port <n>', 'listen port', '50051')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(async (opts: { port: string; host: string }) => {
      const port = parseIntFlag('--port', opts.port, 0, 65535)!;
      const { runAuthServer } = await import('../src/auth/run-auth-server.js');
      await runAuthServer(loadConfig(), { port, host: opts.host });
    });
}
