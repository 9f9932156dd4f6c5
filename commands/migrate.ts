import type { Command } from 'commander';
import { isoTimes, printJson, printTable } from '../src/cli/output.js';
import { storeUnavailable, withStores } from '../src/cli/with-stores.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending migrations of every configured store (--status: list them)')
    .option('--status', 'list migrations and whether each ran, without applying')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: boolean; json?: boolean }) => {
      await withStores(
        async (stores, config) => {
          if (!opts.status) {
            const reports = await stores.migrate().catch((err) => Promise.reject(storeUnavailable(err, config)));
            if (opts.json) return printJson(reports);
            for (const r of reports) process.stdout.write(`${r.store}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}\n`);
            return;
          }
          const rows = isoTimes(await stores.migrationStatus().catch((err) => Promise.reject(storeUnavailable(err, config))));
          if (opts.json) return printJson(rows);
          printTable(rows, ['store', 'name', 'applied', 'appliedAt']);
        },
        { migrate: false },
      );
    });
}
