// `ibex traces list`: recent traces from whichever trace store is configured (ClickHouse when
// IBEX_CLICKHOUSE_URL is set, else the relational store), most recent first. `ibex traces show ID`:
// one trace in full, with what the agent's policies did and the response cache's answer.
import type { Command } from 'commander';
import { UserError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { isoTime, isoTimes, policyCacheLines, printable, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import type { Trace } from '../src/stores/ports.js';

export function register(program: Command): void {
  const traces = program.command('traces').description('request traces (timings, status, tokens; never prompt text)');

  traces
    .command('list', { isDefault: true }) // `ibex traces --agent x` is what people type
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

  traces
    .command('show <request-id>')
    .description("one trace: ibex's request id or the caller's X-Request-Id (the most recent, when several share it)")
    .option('--json', 'print the trace as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        const found = await stores.traces.list({ requestId: id, limit: 2 });
        const t = found[0];
        if (!t) throw new UserError(`no trace "${id}"`, 'see `ibex traces list` (traces are kept for the retention period only)');
        if (found.length > 1) process.stderr.write(`several traces have the id "${id}"; this is the most recent (see \`ibex traces list --request-id ${id}\`)\n`);
        if (opts.json) return printJson(isoTimes(t));
        const lines = [
          `request: ${t.requestId}${t.clientRequestId ? ` (client ${t.clientRequestId})` : ''}`,
          `time: ${isoTime(t.startedAt)}`,
          `agent: ${t.agent ?? '-'}  session: ${t.sessionId ?? '-'}  pat: ${t.patId ?? '-'}`,
          `model: ${t.model ?? '-'}  served by: ${servedBy(t) ?? '-'}${t.stream ? '  stream' : ''}`,
          `status: ${t.errorCode ? `${t.status} ${t.errorCode}` : t.status}`,
          `ms: total ${ms(t.totalMs)}  overhead ${ms(t.overheadMs)}  upstream ${t.upstreamMs === null ? '-' : ms(t.upstreamMs)}  ttfb ${t.upstreamTtfbMs === null ? '-' : ms(t.upstreamTtfbMs)}`,
          `stages: ${Object.entries(t.stages).map(([k, v]) => `${k} ${ms(v)}`).join(', ') || '-'}`,
          `tokens: ${t.totalTokens ?? '-'} (prompt ${t.promptTokens ?? '-'}, completion ${t.completionTokens ?? '-'})${t.costUsd !== null ? `  cost $${t.costUsd}` : ''}`,
          `directive: ${t.directiveVersion === null ? '-' : `v${t.directiveVersion}`}`,
        ].map(printable);
        process.stdout.write([...lines, ...policyCacheLines(t, true)].join('\n') + '\n');
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
