// Builds the commander program from commands/ and runs it. One top-level handler turns errors into
// exit codes: user-fixable (message + hint, exit 1), usage (exit 2), bugs (stack + how to report, exit 1).
import { Command, CommanderError } from 'commander';
import { UsageError, UserError } from './errors.js';
import { packageVersion } from './util/package-root.js';
import { redact } from './log.js';
import { printable } from './util/printable.js';
import { exitQuietlyOnEpipe } from './cli/epipe.js';
import { addRemoteOptions } from './cli/remote-target.js';
import { register as serve } from '../commands/serve.js';
import { register as mockUpstream } from '../commands/mock-upstream.js';
import { register as migrate } from '../commands/migrate.js';
import { register as agent } from '../commands/agent.js';
import { register as pat } from '../commands/pat.js';
import { register as directive } from '../commands/directive.js';
import { register as sessions } from '../commands/sessions.js';
import { register as traces } from '../commands/traces.js';
import { register as usage } from '../commands/usage.js';
import { register as tail } from '../commands/tail.js';
import { register as bench } from '../commands/bench.js';
import { register as smoke } from '../commands/smoke.js';
import { register as authServer } from '../commands/auth-server.js';
import { register as config } from '../commands/config.js';
import { register as logs } from '../commands/logs.js'; // [issue 17]
import { register as providers } from '../commands/providers.js';
import { register as prune } from '../commands/prune.js';

export function buildProgram(): Command {
  const program = new Command('ibex')
    .description('ibex: an OpenAI-compatible LLM gateway — PAT auth, agent directives, sessions, traces')
    .version(packageVersion())
    // program options only before the subcommand, so `directive get --version N` is the subcommand's
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [serve, mockUpstream, migrate, agent, pat, directive, sessions, traces, usage, tail, bench, smoke, authServer, config, logs, providers, prune]) {
    register(program);
  }
  // --url / --admin-token-file on every management command: through a gateway's admin API.
  addRemoteOptions(program);
  // exitOverride on every subcommand too, so usage errors reach our handler (exit 2).
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnEpipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version are "errors" to commander; they already printed
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof UsageError || err instanceof UserError) {
    // Messages often quote what the user typed (`no agent named "…"`): escaped, so a control character
    // in an argument cannot write escape sequences into the terminal.
    process.stderr.write(`error: ${printable(redact(err.message))}\n`);
    if (err.hint) process.stderr.write(`hint: ${printable(redact(err.hint))}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`ibex hit an unexpected error (a bug): ${redact(e?.message ?? String(err))}\n`);
  if (e?.stack) process.stderr.write(redact(e.stack) + '\n');
  process.stderr.write('Please report it with the command you ran and the output above.\n');
  return 1;
}
