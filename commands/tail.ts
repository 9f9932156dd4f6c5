// `ibex tail`: live traces from a gateway. Thin: resolve URL and token, pick TUI or NDJSON.
import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { defaultGatewayUrl, parseGatewayUrl, resolveAdminToken } from '../src/tail/target.js';

interface TailFlags {
  url?: string;
  agent?: string;
  json?: boolean;
  token?: string;
  sessions?: boolean;
}

export function register(program: Command): void {
  program
    .command('tail')
    .description('live traces: an Ink TUI on a terminal, NDJSON with --json or when stdout is not a TTY')
    .option('--url <url>', 'gateway base URL (default: http://IBEX_HOST:IBEX_PORT)')
    .option('--agent <name>', 'only requests of this agent')
    .option('--json', 'one trace JSON per line on stdout (also the default when stdout is not a terminal)')
    .option('--token <token>', 'admin token (default: IBEX_ADMIN_TOKEN, else $IBEX_HOME/admin-token)')
    .option('--sessions', 'start in the sessions view (the `s` key switches views)')
    .action(async (flags: TailFlags) => {
      await runTail(flags);
    });
}

export async function runTail(flags: TailFlags): Promise<void> {
  const config = loadConfig();
  const url = flags.url ? parseGatewayUrl(flags.url) : defaultGatewayUrl(config);
  const token = resolveAdminToken(flags.token, config);

  if (process.stdout.isTTY && !flags.json) {
    // Ink and React load only for the interactive view.
    const { runTailTui } = await import('../src/ui/tail/run.js');
    // Where the CLI reaches the stores (no --url), a session's conversation is read from them;
    // with --url only the live events are known.
    const { openStores } = await import('../src/stores/factory.js');
    const stores = flags.url ? null : await openStores(config).catch(() => null);
    try {
      await runTailTui({
        url,
        token,
        agent: flags.agent,
        sessions: flags.sessions,
        loadSession: stores ? (id) => stores.sessions.checkpoints(id) : undefined,
      });
    } finally {
      await stores?.close();
    }
    return;
  }

  const { runTailNdjson } = await import('../src/tail/ndjson.js');
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runTailNdjson({
      url,
      token,
      agent: flags.agent,
      out: process.stdout,
      log: (line) => process.stderr.write(`${line}\n`),
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
