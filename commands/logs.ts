// `ibex logs --requests [--follow]`: the request debug log (IBEX_DEBUG_REQUESTS), JSONL with secrets
// redacted: one line per request with the request as sent upstream and the reply.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError, UserError } from '../src/errors.js';
import { resolveHome } from '../src/config.js';
import { debugLogReadPath } from '../src/debug-log/path.js';
import { printLog } from '../src/debug-log/follow.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description('the request debug log (full requests and replies, secrets redacted; enable with IBEX_DEBUG_REQUESTS)')
    .option('--requests', 'the request debug log (the only log kept apart for now)')
    .option('-f, --follow', 'keep printing new requests as they are logged (Ctrl-C stops)')
    .action(async (opts: { requests?: boolean; follow?: boolean }) => {
      if (!opts.requests) throw new UsageError('say which log: --requests', 'ibex logs --requests [--follow]');
      const path = debugLogReadPath(process.env, resolveHome(process.env));
      if (!existsSync(path) && !opts.follow) {
        throw new UserError(`no request debug log at ${path}`, 'start the gateway with IBEX_DEBUG_REQUESTS=1 (or =PATH) to log requests');
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await printLog(path, (s) => void (s && process.stdout.write(s)), opts.follow === true, { signal: ac.signal });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
