import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { withStores } from '../src/cli/with-stores.js';
import { noSuchAgent, requireAgent } from '../src/cli/agents.js';
import { isoTime, isoTimes, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { addLimitFlags, describeLimits, parseLimitFlags } from '../src/cli/limit-flags.js';
import { parseDuration } from '../src/util/duration.js';
import { createPat, revokePat } from '../src/ops/identity.js';
import { ConflictError, NotFoundError, SPEND_LIMIT_KEYS, type PatRecord } from '../src/stores/ports.js';

/** A PAT as shown: never the hash or the secret. */
const view = (p: PatRecord) =>
  isoTimes({
    id: p.id,
    prefix: p.prefix,
    name: p.name,
    agents: p.agents,
    rpm: p.rpm,
    ...Object.fromEntries(SPEND_LIMIT_KEYS.map((k) => [k, p[k] ?? null])),
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
    revokedAt: p.revokedAt,
    status: p.revokedAt ? 'revoked' : p.expiresAt !== null && p.expiresAt <= Date.now() ? 'expired' : 'active',
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  const pat = program.command('pat').description('manage personal access tokens');

  const create = pat
    .command('create')
    .description('issue a PAT bound to one or more agents; the token is printed once')
    .requiredOption('--agent <name>', 'agent the token may act for (repeatable)', collect)
    .option('--name <label>', 'a label to recognise the token by')
    .option('--expires <duration>', 'lifetime, e.g. 90s, 15m, 12h, 30d')
    .option('--rpm <n>', 'requests per minute for this token');
  addLimitFlags(create)
    .option('--json', 'print JSON')
    .action(async (opts: Record<string, unknown> & { agent: string[]; name?: string; expires?: string; rpm?: string; json?: boolean }) => {
      const rpm = parseIntFlag('--rpm', opts.rpm, 1, 10_000_000);
      const limits = parseLimitFlags(opts);
      let expiresAt: number | null = null;
      if (opts.expires !== undefined) {
        const ms = parseDuration(opts.expires);
        if (ms === null) {
          throw new UsageError(`--expires must be a duration like 90s, 15m, 12h or 30d (at most 100 years), got "${opts.expires}"`);
        }
        expiresAt = Date.now() + ms;
      }
      const agents = [...new Set(opts.agent)];
      await withStores(async (stores) => {
        for (const name of agents) await requireAgent(stores, name);
        let created;
        try {
          created = await createPat(stores, { agents, name: opts.name ?? null, rpm: rpm ?? null, expiresAt, limits });
        } catch (err) {
          // The check above already named any unknown agent; the store's own check reads the same.
          if (err instanceof NotFoundError) throw noSuchAgent(agents.join(', '));
          throw err;
        }
        if (opts.json) return printJson({ ...view(created.record), token: created.token });
        process.stdout.write(`${created.token}\n`);
        const limitsText = describeLimits(created.record);
        process.stderr.write(
          `created ${created.record.id} for ${created.record.agents.join(', ')}${limitsText ? ` (${limitsText})` : ''} — the token above is shown only once\n`,
        );
      });
    });

  pat
    .command('list')
    .description('list PATs (never their secrets)')
    .option('--agent <name>', 'only tokens bound to this agent')
    .option('--json', 'print JSON')
    .action(async (opts: { agent?: string; json?: boolean }) => {
      await withStores(async (stores) => {
        if (opts.agent !== undefined) await requireAgent(stores, opts.agent);
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
        const ambiguous = (err: unknown): never => {
          if (err instanceof ConflictError) throw new UserError(err.message, 'give the full id (see `ibex pat list`)');
          throw err;
        };
        const noMatch = () => new UserError(`no PAT matches "${idOrPrefix}"`, 'see `ibex pat list`');
        // Revoking is idempotent; say so rather than pretend this call revoked it (exit 0 either way).
        const before = await stores.tokens.find(idOrPrefix).catch(ambiguous);
        if (!before) throw noMatch();
        const already = before.revokedAt !== null;
        const p = already ? before : await revokePat(stores, before.id).catch(ambiguous);
        if (!p) throw noMatch();
        if (opts.json) return printJson({ ...view(p), alreadyRevoked: already });
        process.stdout.write(
          already ? `${p.id} (${p.prefix}…) was already revoked at ${isoTime(p.revokedAt)}\n` : `revoked ${p.id} (${p.prefix}…)\n`,
        );
      });
    });
}
