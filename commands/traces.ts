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

const COLUMNS = ['time', 'request id', 'client request id', 'agent', 'session', 'model', 'served by', 'status', 'total ms', 'overhead ms', 'tokens'];

function tableRow(t: Trace): Record<string, unknown> {
  return {
    time: isoTime(t.startedAt),
    'request id': t.requestId,
    'client request id': t.clientRequestId,
    agent: t.agent,
    session: t.sessionId,
    model: t.model,
    'served by': servedBy(t),
    status: t.errorCode ? `${t.status} ${t.errorCode}` : t.status,
    'total ms': ms(t.totalMs),
    'overhead ms': ms(t.overheadMs),
    tokens: t.totalTokens,
  };
}

/** `provider/model`, and how many fallback attempts failed first (`backup/gpt-4o-mini (2 failed)`). */
function servedBy(t: Trace): string | null {
  if (!t.provider) return null;
  const served = t.servedModel ? `${t.provider}/${t.servedModel}` : t.provider;
  const failed = t.attempts?.length ?? 0;
  return failed ? `${served} (${failed} failed)` : served;
}

function ms(v: number): string {
  return v.toFixed(1);
}
