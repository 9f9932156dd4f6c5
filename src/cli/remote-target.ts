// `--url URL` on the management commands: act on a running gateway through its admin API instead of
// opening the stores, so an operator needs the admin token and nothing else (no database credentials).
// The options are added to every command of the management groups at once, and the chosen target is
// picked up by withStores, so the command files stay as they are.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, UserError } from '../errors.js';
import { parseGatewayUrl } from '../tail/target.js';

/** The command groups whose commands act through withStores, hence through the admin API with --url. */
export const REMOTE_GROUPS = ['agent', 'pat', 'directive', 'sessions', 'traces', 'usage', 'prune'];

export interface RemoteOptions {
  url?: string;
  adminTokenFile?: string;
}

export interface RemoteTarget {
  /** Gateway base URL without a trailing slash */
  url: string;
  token: string;
}

let chosen: RemoteOptions = {};

/** What the running command asked for (set by the preAction hook below). */
export function remoteOptions(): RemoteOptions {
  return chosen;
}

function leaves(cmd: Command): Command[] {
  return cmd.commands.length ? cmd.commands.flatMap(leaves) : [cmd];
}

/** Adds `--url` and `--admin-token-file` to every command of `groups` (unless it has its own --url). */
export function addRemoteOptions(program: Command, groups: readonly string[] = REMOTE_GROUPS): void {
  // A command with a --url of its own (`sessions replay`: the gateway to send through) keeps it.
  const remote = new Set<Command>();
  for (const group of program.commands.filter((c) => groups.includes(c.name()))) {
    for (const leaf of leaves(group)) {
      if (leaf.options.some((o) => o.long === '--url')) continue;
      remote.add(leaf);
      leaf
        .option('--url <url>', "act on a running gateway through its admin API (admin token: IBEX_ADMIN_TOKEN or --admin-token-file)")
        .option('--admin-token-file <path>', 'a file holding the admin token, for --url');
    }
  }
  program.hook('preAction', (_program, action) => {
    const o = action.opts() as RemoteOptions;
    chosen = remote.has(action) ? { url: o.url, adminTokenFile: o.adminTokenFile } : {};
  });
}

/**
 * The gateway and admin token for `opts`, or null without --url. The token: --admin-token-file, else
 * IBEX_ADMIN_TOKEN (or `adminToken` in the config file). Never $IBEX_HOME's token file: that is the
 * local gateway's, and sending it to another URL would hand it to whoever answers there.
 */
export function resolveRemoteTarget(opts: RemoteOptions, configToken: string | undefined): RemoteTarget | null {
  if (opts.url === undefined) {
    if (opts.adminTokenFile !== undefined) throw new UsageError('--admin-token-file goes with --url', 'add --url http://GATEWAY:8787, or drop --admin-token-file');
    return null;
  }
  const url = parseGatewayUrl(opts.url);
  let token = configToken;
  if (opts.adminTokenFile !== undefined) {
    try {
      token = readFileSync(opts.adminTokenFile, 'utf8').trim();
    } catch (err) {
      throw new UserError(`cannot read the admin token file ${opts.adminTokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!token) throw new UserError(`the admin token file ${opts.adminTokenFile} is empty`);
  }
  if (!token) {
    throw new UserError(`--url needs the gateway's admin token`, "set IBEX_ADMIN_TOKEN, or pass --admin-token-file PATH (the gateway's $IBEX_HOME/admin-token)");
  }
  return { url, token };
}
