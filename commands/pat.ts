import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { isoTime, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { parseDuration } from '../src/util/duration.js';
import { createPat, revokePat } from '../src/ops/identity.js';
import { ConflictError, NotFoundError, type PatRecord } from '../src/stores/ports.js';

/** A PAT as shown: never the hash or the secret. */
const view = (p: PatRecord) => ({
  id: p.id,
  prefix: p.prefix,
  name: p.name,
  agents: p.agents,
  rpm: p.rpm,
  createdAt: isoTime(p.createdAt),
  expiresAt: isoTime(p.expiresAt),
  revokedAt: isoTime(p.revokedAt),
  status: p.revokedAt ? 'revoked' : p.expiresAt !== null && p.expiresAt <= Date.now() ? 'expired' : 'active',
});

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  const pat = program.command('pat').description('manage personal access tokens');

  pat
    .command('create')
    .description('issue a PAT bound to one or more agents; the token is printed once')
    .requiredOption('--agent <name>', 'agent the token may act for (repeatable)', collect)
    .option('--name <label>', 'a label to recognise the token by')
    .option('--expires <duration>', 'lifetime, e.g. 90s, 15m, 12h, 30d')
    .option('--rpm <n>', 'requests per minute for this token')
    .option('--json', 'print JSON')
    .action(async (opts: { agent: string[]; name?: string; expires?: string; rpm?: string; json?: boolean }) => {
      const rpm = parseIntFlag('--rpm', opts.rpm, 1, 10_000_000);
      let expiresAt: number | null = null;
      if (opts.expires !== undefined) {
        const ms = parseDuration(opts.expires);
        if (ms === null) {
          throw new UsageError(`--expires must be a duration like 90s, 15m, 12h or 30d (at most 100 years), got "${opts.expires}"`);
        }
        expiresAt = Date.now() + ms;
      }
      await withStores(async (stores) => {
        let created;
        try {
          created = await createPat(stores, { agents: [...new Set(opts.agent)], name: opts.name ?? null, rpm: rpm ?? null, expiresAt });
        } catch (err) {
          if (err instanceof NotFoundError) throw new UserError(err.message, 'create the agent first: `ibex agent create NAME`');
          throw err;
        }
        if (opts.json) return printJson({ ...view(created.record), token: created.token });
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(`created ${created.record.id} for ${created.record.agents.join(', ')} — the token above is shown only once\n`);
      });
    });

  pat
    .command('list')
    .description('list PATs (never their secrets)')
    .option('--agent <name>', 'only tokens bound to this agent')
    .option('--json', 'print JSON')
    .action(async (opts: { agent?: string; json?: boolean }) => {
      await withStores(async (stores) => {
        const pats = (await stores.tokens.list(opts.agent ? { agent: opts.agent } : {})).map(view);
        if (opts.json) return printJson(pats);
        printTable(pats, ['id', 'prefix', 'name', 'agents', 'status', 'rpm', 'createdAt', 'expiresAt']);
      });
    });

  pat
    .command('revoke <idOrPrefix>')
    .description('revoke a PAT: rejected by every gateway within seconds')
    .option('--json', 'print JSON')
    .action(async (idOrPrefix: string, opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        let p: PatRecord | null;
        try {
          p = await revokePat(stores, idOrPrefix);
        } catch (err) {
          if (err instanceof ConflictError) throw new UserError(err.message, 'give the full id (see `ibex pat list`)');
          throw err;
        }
        if (!p) throw new UserError(`no PAT matches "${idOrPrefix}"`, 'see `ibex pat list`');
        if (opts.json) return printJson(view(p));
        process.stdout.write(`revoked ${p.id} (${p.prefix}…)\n`);
      });
    });
}
