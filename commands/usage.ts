// `ibex usage`: requests, tokens and cost per agent, PAT, model, provider or UTC day, summed from
// whichever trace store is configured (the same totals as GET /admin/v1/usage).
import type { Command } from 'commander';
import { UsageError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { printJson, printTable } from '../src/cli/output.js';
import { DEFAULT_SINCE, parseUsageQuery, usageReport, UsageQueryError, USAGE_GROUPS } from '../src/usage/report.js';
import type { UsageRow } from '../src/stores/ports.js';

export function register(program: Command): void {
  program
    .command('usage')
    .description('requests, tokens and cost from the traces, grouped')
    .option('--by <group>', `one of ${USAGE_GROUPS.join(', ')}`, 'agent')
    .option('--since <when>', 'a duration back from now (7d, 12h) or a date (2025-06-01)', DEFAULT_SINCE)
    .option('--until <when>', 'the end of the range, same forms (default: now)')
    .option('--agent <name>', 'only this agent')
    .option('--json', 'print one JSON document')
    .action(async (opts: { by: string; since: string; until?: string; agent?: string; json?: boolean }) => {
      let query;
      try {
        query = parseUsageQuery(opts);
      } catch (err) {
        if (err instanceof UsageQueryError) throw new UsageError(`--${err.param}: ${err.message.replace(/^\w+ /, '')}`);
        throw err;
      }
      await withStores(async (stores) => {
        const report = usageReport(query, await stores.traces.usage(query));
        if (opts.json) return printJson(report);
        const rows = report.rows.map((r) => tableRow(r.key ?? '(none)', r));
        if (rows.length) rows.push(tableRow('TOTAL', report.total));
        printTable(rows, [query.by, 'requests', 'prompt', 'completion', 'cached', 'reasoning', 'total tokens', 'cost usd', 'unpriced']);
      });
    });
}

function tableRow(key: string, r: Omit<UsageRow, 'key'>): Record<string, unknown> {
  return {
    agent: key,
    pat: key,
    model: key,
    provider: key,
    day: key,
    requests: r.requests,
    prompt: r.promptTokens,
    completion: r.completionTokens,
    cached: r.cachedTokens,
    reasoning: r.reasoningTokens,
    'total tokens': r.totalTokens,
    'cost usd': r.costUsd.toFixed(6),
    unpriced: r.unpricedRequests,
  };
}
