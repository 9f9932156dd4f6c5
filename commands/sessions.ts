import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { findTurn, shownCheckpoint, upstreamView } from '../src/ledger/turn.js';
import { replayRequest } from '../src/ledger/replay.js';
import { EXPORT_FORMATS, exportLine, type ExportFormat } from '../src/ledger/export-format.js';
import { writeLines } from '../src/ledger/stream-out.js';
import { parseDuration } from '../src/util/duration.js';
import { withStores } from '../src/cli/with-stores.js';
import { requireAgent } from '../src/cli/agents.js';
import { isoTime, isoTimes, policyCacheLines, printable, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { findSession } from '../src/sessions/find.js';

export function register(program: Command): void {
  const sessions = program.command('sessions').description('sessions and their checkpoints');

  sessions
    .command('list', { isDefault: true }) // `ibex sessions --agent x` is what people type
    .option('--agent <name>', 'only this agent')
    .option('--limit <n>', 'at most N sessions (default 50)')
    .option('--json', 'print JSON')
    .action(async (opts: { agent?: string; limit?: string; json?: boolean }) => {
      const limit = parseIntFlag('--limit', opts.limit, 1, 10_000);
      await withStores(async (stores) => {
        if (opts.agent !== undefined) await requireAgent(stores, opts.agent);
        const rows = isoTimes(await stores.sessions.listSessions({ agent: opts.agent, limit }));
        if (opts.json) return printJson(rows);
        printTable(rows, ['id', 'agent', 'turns', 'totalTokens', 'status', 'updatedAt']);
      });
    });

  sessions
    .command('show <id>')
    .option('--turn <n>', 'only this turn (1-based, as numbered by `sessions show`)')
    .option('--upstream', "with --turn (or a reply id as ID): exactly what went upstream (directive version and text, messages, body, served model)")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean; turn?: string; upstream?: boolean }) => {
      const turn = parseIntFlag('--turn', opts.turn, 1, 1_000_000_000);
      // --upstream is about one turn: --turn N, or the Responses reply id of that turn as ID
      if (turn !== undefined || opts.upstream) return showTurn(id, turn, { json: opts.json, upstream: opts.upstream });
      await withStores(async (stores) => {
        // a session id, or the Responses reply or conversation id a client saw
        const session = await findSession(stores.sessions, id);
        if (!session) throw new UserError(`no session "${id}"`, 'see `ibex sessions list`; a Responses id (resp_…) finds the session of its turn');
        const checkpoints = await stores.sessions.checkpoints(session.id);
        if (opts.json) return printJson({ session: isoTimes(session), checkpoints: isoTimes(checkpoints.map(shownCheckpoint)) });
        process.stdout.write(
          printable(`session ${session.id}  agent ${session.agent}  turns ${session.turns}  tokens ${session.totalTokens}  updated ${isoTime(session.updatedAt)}`) + '\n',
        );
        for (const c of checkpoints) {
          process.stdout.write(
            '\n' +
              printable(
                `#${c.seq} ${isoTime(c.createdAt)} ${c.status}${c.errorCode ? ` (${c.errorCode})` : ''} model=${c.model} directive=v${c.directiveVersion ?? '-'} stream=${c.stream} request=${c.requestId}${c.responseId ? ` response=${c.responseId}` : ''}`,
              ) +
              '\n',
          );
          // what the agent's policies did and the cache's answer, when there is something to say
          for (const line of policyCacheLines(c, false)) process.stdout.write(`  ${line}\n`);
          const last = c.messages[c.messages.length - 1];
          if (last !== undefined) process.stdout.write(`  > ${printable(inputLine(last).slice(0, 200))}\n`);
          if (c.reply !== null) process.stdout.write(`  < ${printable(c.reply.slice(0, 200))}\n`);
        }
      });
    });

  // ---- the ledger (issue 15): replay and export ----
  sessions
    .command('replay <id>')
    .description('send a recorded turn again through a gateway, as a new session tagged as a replay of it')
    .option('--turn <n>', 'the turn to replay (1-based); not needed when ID is the Responses reply id (resp_…) that turn created')
    .option('--model <model>', 'send this model instead of the recorded one')
    .option('--directive-version <v>', "place this version of the agent's directive instead of the recorded one")
    .option('--url <url>', 'gateway URL', 'http://127.0.0.1:8787')
    .option('--token <pat>', 'PAT to send with (default: IBEX_PAT)')
    .option('--json', 'print JSON')
    .action(
      async (id: string, opts: { turn?: string; model?: string; directiveVersion?: string; url: string; token?: string; json?: boolean }) => {
        const turn = parseIntFlag('--turn', opts.turn, 1, 1_000_000_000);
        const version = parseIntFlag('--directive-version', opts.directiveVersion, 1, 2_147_483_647);
        const token = opts.token ?? process.env.IBEX_PAT;
        if (!token) throw new UsageError('replay needs a PAT', 'pass --token PAT or set IBEX_PAT');
        let replayOf = '';
        const request = await withStores(async (stores) => {
          const cp = await findTurn(stores.sessions, id, turn);
          replayOf = `${cp.sessionId}:${cp.seq}`;
          const recorded = cp.directiveVersion === null ? null : await stores.directives.get(cp.agent, cp.directiveVersion);
          if (version !== undefined && !(await stores.directives.get(cp.agent, version))) {
            throw new UserError(`agent "${cp.agent}" has no directive version ${version}`, `see \`ibex directive history ${cp.agent}\``);
          }
          const r = replayRequest(cp, cp.seq, { model: opts.model, directiveVersion: version, recordedDirective: recorded?.text ?? null });
          if (!r) throw new UserError(`turn ${cp.seq} of session "${cp.sessionId}" has no recorded request body`, 'it was recorded in metadata mode or before the ledger (issue 15)');
          return r;
        });
        let res: Response;
        try {
          res = await fetch(new URL(request.path, opts.url.replace(/\/?$/, '/')), {
            method: 'POST',
            headers: { ...request.headers, authorization: `Bearer ${token}` },
            body: request.body,
          });
        } catch (err) {
          throw new UserError(`cannot reach the gateway at ${opts.url}: ${(err as Error).message}`, 'start it with `ibex serve`, or pass --url');
        }
        const text = await res.text();
        const session = res.headers.get('x-ibex-session');
        if (opts.json) return printJson({ replayOf, status: res.status, session, body: text });
        process.stderr.write(`replay of ${replayOf} → ${res.status}, new session ${session ?? '-'}\n`);
        process.stdout.write(text.endsWith('\n') ? text : text + '\n');
        if (!res.ok) process.exitCode = 1;
      },
    );

  sessions
    .command('export')
    .description('stream checkpoints to stdout, one JSON document per line, oldest first')
    .option('--agent <name>', 'only this agent')
    .option('--since <duration>', 'only turns of the last DURATION (e.g. 7d, 12h)')
    .option('--format <format>', `${EXPORT_FORMATS.join(' | ')}`, 'jsonl')
    .action(async (opts: { agent?: string; since?: string; format: string }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
        throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${opts.format}"`);
      }
      const format = opts.format as ExportFormat;
      let since: number | undefined;
      if (opts.since !== undefined) {
        const ms = parseDuration(opts.since);
        if (ms === null) throw new UsageError(`--since must be a duration like 7d or 12h, got "${opts.since}"`);
        since = Date.now() - ms;
      }
      await withStores(async (stores) => {
        if (opts.agent !== undefined) await requireAgent(stores, opts.agent);
        const rows = stores.sessions.exportCheckpoints({ agent: opts.agent, since });
        await writeLines(process.stdout, lines(rows, format));
      });
    });
}

async function* lines(rows: AsyncIterable<import('../src/stores/ports.js').Checkpoint>, format: ExportFormat): AsyncGenerator<string> {
  for await (const cp of rows) {
    const line = exportLine(cp, format);
    if (line !== null) yield line;
  }
}

/** `sessions show ID --turn N [--upstream]` */
async function showTurn(id: string, turn: number | undefined, opts: { json?: boolean; upstream?: boolean }): Promise<void> {
  await withStores(async (stores) => {
    const cp = await findTurn(stores.sessions, id, turn);
    if (!opts.upstream) {
      if (opts.json) return printJson(isoTimes(shownCheckpoint(cp)));
      process.stdout.write(printable(`#${cp.seq} ${isoTime(cp.createdAt)} ${cp.status} model=${cp.model} directive=v${cp.directiveVersion ?? '-'} request=${cp.requestId}`) + '\n');
      for (const line of policyCacheLines(cp, true)) process.stdout.write(line + '\n');
      process.stdout.write(JSON.stringify(cp.messages, null, 2) + '\n');
      if (cp.reply !== null) process.stdout.write(`< ${printable(cp.reply)}\n`);
      return;
    }
    const v = await upstreamView(cp, stores.directives);
    if (opts.json) return printJson(v);
    const out = (line: string) => process.stdout.write(line + '\n');
    out(printable(`session ${v.sessionId} turn ${v.turn} (request ${v.requestId}, agent ${v.agent})`));
    out(printable(`POST ${v.route} → provider ${v.provider ?? '-'} ${v.upstreamPath ?? ''}  model ${v.model ?? '-'} served ${v.servedModel ?? '-'}`));
    if (v.replayOf) out(printable(`replay of ${v.replayOf}`));
    out(v.directiveVersion === null ? 'directive: none' : `directive: v${v.directiveVersion}`);
    if (v.directive !== null) out('injected: ' + JSON.stringify(v.directive));
    if (v.contentMode !== 'full') out(`content: ${v.contentMode}`);
    out('messages:');
    out(JSON.stringify(v.messages, null, 2));
    // A translated turn keeps the caller's body (replay sends it again); the provider got its translation.
    out(v.translated ? `body (exact bytes before translation to the provider's ${v.upstreamPath} API):` : 'body (exact bytes sent upstream):');
    out(v.body ?? '(not recorded)');
  });
}

/** The last input of a turn as one line: its text, its content parts, or the whole item when it has no content (a Responses `function_call_output`). */
function inputLine(message: unknown): string {
  const content = (message as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return content;
  return JSON.stringify(content ?? message) ?? String(message);
}
