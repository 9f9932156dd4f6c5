// `ibex traces list`: recent traces from whichever trace store is configured (ClickHouse when
// IBEX_CLICKHOUSE_URL is set, else the relational store), most recent first.
import type { Command } from 'commander';
import { withStores } from '../src/cli/with-stores.js';
import { isoTime, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import type { Trace } from '../src/stores/ports.js';

export function register(program: Command): void {
  const traces = program.command('traces').description('request traces (timings, status, tokens; never prompt text)');

  traces
    .command('list')
    .description('recent traces, most recent first')
    .option('--agent <name>', 'only this agent')
    .option('--session <id>', 'only this session')
    .option('--request-id <id>', "the request a user reports: the caller's X-Request-Id, or ibex's own request id")
    .option('--limit <n>', 'at most N traces (default 50)')
    .option('--json', 'print one JSON array')
    .action(async (opts: { agent?: string; session?: string; requestId?: string; limit?: string; json?: boolean }) => {
      const limit = parseIntFlag('--limit', opts.limit, 1, 10_000);
      await withStores(async (stores) => {
        const rows = await stores.traces.list({ agent: opts.agent, sessionId: opts.session, requestId: opts.requestId, limit });
        if (opts.json) return printJson(rows);
        printTable(rows.map(tableRow), COLUMNS);
      });
    });
}

const COLUMNS = ['time', 'request id', 'client request id', 'agent', 'session', 'model', 'status', 'total ms', 'overhead ms', 'tokens'];

function tableRow(t: Trace): Record<string, unknown> {
  return {
    time: isoTime(t.startedAt),
    'request id': t.requestId,
    'client request id': t.clientRequestId,
    agent: t.agent,
    session: t.sessionId,
    model: t.model,
    status: t.errorCode ? `${t.status} ${t.errorCode}` : t.status,
    'total ms': ms(t.totalMs),
    'overhead ms': ms(t.overheadMs),
    tokens: t.totalTokens,
  };
}

function ms(v: number): string {
  return v.toFixed(1);
}
