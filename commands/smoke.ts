// `ibex smoke [--url URL] [--token PAT]`: end-to-end check of a gateway (src/smoke/run.ts).
// Exit 0 only if every step passed; exit 1 naming the failing step otherwise.
import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';

export function register(program: Command): void {
  program
    .command('smoke')
    .description('end-to-end check with the openai client: requests, directive, checkpoint, trace, revocation (default: a self-started gateway with the mock)')
    .option('--url <url>', 'check this running gateway; its stores must be the ones configured here (IBEX_HOME / IBEX_DATABASE_URL …)')
    .option('--token <pat>', 'with --url: use this PAT and only run the HTTP steps (no store access, nothing created or revoked)')
    .action(async (flags: { url?: string; token?: string }) => {
      if (flags.token !== undefined && flags.url === undefined) {
        throw new UsageError('--token needs --url', 'without --url, smoke starts its own gateway and creates its own PAT');
      }
      if (flags.url !== undefined) {
        let u: URL;
        try {
          u = new URL(flags.url);
        } catch {
          throw new UsageError(`--url is not a URL: "${flags.url}"`);
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url must be http(s), got ${u.protocol}`);
      }
      const { runSmoke } = await import('../src/smoke/run.js');
      const t0 = performance.now();
      const result = await runSmoke({ url: flags.url, token: flags.token });
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      if (!result.ok) {
        throw new UserError(`smoke failed at step "${result.failedStep}"`, 'the ✗ line above says why');
      }
      const skipped = result.steps.filter((s) => s.status === 'skipped').length;
      process.stdout.write(`smoke passed: ${result.steps.length - skipped} steps${skipped ? `, ${skipped} skipped` : ''} in ${secs} s\n`);
    });
}
