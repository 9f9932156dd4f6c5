import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { noSuchAgent, requireAgent } from '../src/cli/agents.js';
import { isoTimes, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { rollbackDirective, setDirective } from '../src/ops/directives.js';
import { ConflictError, NotFoundError, type Directive } from '../src/stores/ports.js';

const view = (d: Directive) => isoTimes(d);

function mapStoreError(err: unknown, agent: string): never {
  if (err instanceof ConflictError) throw new UserError(err.message, `read the current version with \`ibex directive get ${agent}\` and retry`);
  if (err instanceof NotFoundError) throw noSuchAgent(agent);
  throw err;
}

export function register(program: Command): void {
  const directive = program.command('directive').description("manage an agent's versioned directive (system prompt)");

  directive
    .command('set <agent>')
    .description('create the next immutable version')
    .option('--text <text>', 'the directive text')
    .option('--file <path>', 'read the directive from a file (`-` = standard input)')
    .option('--if-version <n>', 'fail unless the current version is N (0 = none yet): no lost updates')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { text?: string; file?: string; ifVersion?: string; json?: boolean }) => {
      if ((opts.text === undefined) === (opts.file === undefined)) throw new UsageError('give exactly one of --text or --file');
      let text = opts.text;
      if (opts.file !== undefined) text = opts.file === '-' ? await readStdin() : readTextFile(opts.file);
      if (!text || text.trim() === '') throw new UsageError('the directive text is empty');
      const ifVersion = parseIntFlag('--if-version', opts.ifVersion, 0);
      await withStores(async (stores) => {
        const d = await setDirective(stores, agent, text!, ifVersion).catch((err) => mapStoreError(err, agent));
        if (opts.json) return printJson(view(d));
        process.stdout.write(`${agent}: directive version ${d.version} (sha256 ${d.sha256.slice(0, 12)})\n`);
      });
    });

  directive
    .command('get <agent>')
    .description('print the current (or a given) version')
    .option('--version <n>', 'a specific version')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { version?: string; json?: boolean }) => {
      const version = parseIntFlag('--version', opts.version, 1);
      await withStores(async (stores) => {
        await requireAgent(stores, agent);
        const d = version === undefined ? await stores.directives.current(agent) : await stores.directives.get(agent, version);
        if (!d) throw new UserError(version === undefined ? `agent "${agent}" has no directive` : `agent "${agent}" has no version ${version}`, 'see `ibex directive history AGENT`');
        if (opts.json) return printJson(view(d));
        process.stdout.write(d.text.endsWith('\n') ? d.text : d.text + '\n');
      });
    });

  directive
    .command('history <agent>')
    .description('list every version')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        await requireAgent(stores, agent);
        const rows = (await stores.directives.history(agent)).map(view);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((d) => ({ ...d, sha256: d.sha256.slice(0, 12), text: d.text.replace(/\s+/g, ' ').slice(0, 60) })),
          ['version', 'createdAt', 'sha256', 'text'],
        );
      });
    });

  directive
    .command('rollback <agent>')
    .description("create a new version with an older version's text")
    .requiredOption('--to <n>', 'the version whose text to restore')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { to: string; json?: boolean }) => {
      const to = parseIntFlag('--to', opts.to, 1)!;
      await withStores(async (stores) => {
        const d = await rollbackDirective(stores, agent, to).catch((err) => mapStoreError(err, agent));
        if (!d) throw new UserError(`agent "${agent}" has no version ${to}`, 'see `ibex directive history AGENT`');
        if (opts.json) return printJson(view(d));
        process.stdout.write(`${agent}: directive version ${d.version} (text of version ${to})\n`);
      });
    });
}

function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `--file -`: the whole of standard input (`cat prompt.md | ibex directive set support --file -`). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('reading the directive from standard input; end it with Ctrl-D\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
