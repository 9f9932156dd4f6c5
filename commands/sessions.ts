import type { Command } from 'commander';
import { UserError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { requireAgent } from '../src/cli/agents.js';
import { isoTime, isoTimes, printable, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';

export function register(program: Command): void {
  const sessions = program.command('sessions').description('sessions and their checkpoints');

  sessions
    .command('list')
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
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        const session = await stores.sessions.getSession(id);
        if (!session) throw new UserError(`no session "${id}"`, 'see `ibex sessions list`');
        const checkpoints = await stores.sessions.checkpoints(id);
        if (opts.json) return printJson({ session: isoTimes(session), checkpoints: isoTimes(checkpoints) });
        process.stdout.write(
          printable(`session ${session.id}  agent ${session.agent}  turns ${session.turns}  tokens ${session.totalTokens}  updated ${isoTime(session.updatedAt)}`) + '\n',
        );
        for (const c of checkpoints) {
          process.stdout.write(
            '\n' +
              printable(
                `#${c.seq} ${isoTime(c.createdAt)} ${c.status}${c.errorCode ? ` (${c.errorCode})` : ''} model=${c.model} directive=v${c.directiveVersion ?? '-'} stream=${c.stream} request=${c.requestId}`,
              ) +
              '\n',
          );
          const last = c.messages[c.messages.length - 1] as { content?: unknown } | undefined;
          if (last) process.stdout.write(`  > ${printable(String(typeof last.content === 'string' ? last.content : JSON.stringify(last.content)).slice(0, 200))}\n`);
          if (c.reply !== null) process.stdout.write(`  < ${printable(c.reply.slice(0, 200))}\n`);
        }
      });
    });
}
