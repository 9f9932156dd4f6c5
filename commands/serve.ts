import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { parseIntFlag } from '../src/cli/parse.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('start the gateway (runs pending migrations first)')
    .option('--port <n>', 'listen port (env IBEX_PORT, default 8787)')
    .option('--host <host>', 'listen address (env IBEX_HOST, default 127.0.0.1)')
    .option('--mock', 'also start the built-in mock upstream and point at it')
    .action(async (opts: { port?: string; host?: string; mock?: boolean }) => {
      const port = parseIntFlag('--port', opts.port, 0, 65535);
      const { runServe } = await import('../src/serve.js');
      await runServe(loadConfig({ port, host: opts.host }), { mock: opts.mock === true });
    });
}
