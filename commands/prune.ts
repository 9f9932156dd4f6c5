// `ibex prune [--dry-run] [--json] [--url URL]`: run retention now (the gateway also runs it in the
// background); with --url, on that gateway (POST /admin/v1/prune).
import type { Command } from 'commander';
import { remoteAdminClient, withStores } from '../src/cli/with-stores.js';
import type { PruneReport } from '../src/ledger/prune.js';
import { printJson, printTable } from '../src/cli/output.js';

export function register(program: Command): void {
  program
    .command('prune')
    .description('delete traces and sessions older than their retention now (see docs/operations.md)')
    .option('--dry-run', 'only count what would be deleted')
    .option('--json', 'print JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      // With --url the gateway prunes its own stores by its own retention settings.
      const api = remoteAdminClient();
      const report = api
        ? await api.post<PruneReport>('/prune', { dryRun: !!opts.dryRun })
        : await withStores(async (stores, config) => {
            // Lazy: the retention settings read ibex.yaml; other commands need not load that.
            const { pruneNow } = await import('../src/ledger/prune.js');
            return pruneNow(stores, config, { dryRun: !!opts.dryRun });
          });
      if (opts.json) return printJson(report);
      process.stdout.write(`${report.dryRun ? 'would delete' : 'deleted'} (traces older than ${report.traces}, sessions older than ${report.sessions}):\n`);
      printTable(
        Object.entries(report.counts).map(([table, rows]) => ({ table, rows })),
        ['table', 'rows'],
      );
      for (const note of report.notes) process.stdout.write(note + '\n');
    });
}
