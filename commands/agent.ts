import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { CONTENT_MODES, isContentMode } from '../src/ledger/content-mode.js';
import { noSuchAgent } from '../src/cli/agents.js';
import { withStores } from '../src/cli/with-stores.js';
import { isoTimes, printJson, printTable } from '../src/cli/output.js';
import { parseAgentName, parseIntFlag } from '../src/cli/parse.js';
import { createAgent, setAgentEnabled, updateAgent } from '../src/ops/identity.js';
import { setPromptCache } from '../src/ops/directives.js';
import { addLimitFlags, describeLimits, parseLimitFlags } from '../src/cli/limit-flags.js';
import { ConflictError, NotFoundError, type Agent, type AgentPatch } from '../src/stores/ports.js';

const view = (a: Agent) => isoTimes(a);

type LimitOpts = Record<string, unknown>;

export function register(program: Command): void {
  const agent = program.command('agent').description('manage agents');

  const create = agent
    .command('create <name>')
    .description('create an agent')
    .option('--rpm <n>', 'requests per minute for the whole agent')
    .option('--description <text>', 'what the agent is for');
  addLimitFlags(create)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: LimitOpts & { rpm?: string; description?: string; json?: boolean }) => {
      const agentName = parseAgentName(name);
      const rpm = parseIntFlag('--rpm', opts.rpm, 1, 10_000_000);
      const limits = parseLimitFlags(opts);
      await withStores(async (stores) => {
        let a: Agent;
        try {
          a = await createAgent(stores, { name: agentName, rpm: rpm ?? null, description: opts.description ?? null, ...limits });
        } catch (err) {
          if (err instanceof ConflictError) throw new UserError(`agent "${agentName}" already exists`, 'pick another name, or `ibex agent list`');
          throw err;
        }
        if (opts.json) return printJson(view(a));
        const limitsText = [a.rpm ? `${a.rpm} rpm` : '', describeLimits(a)].filter(Boolean).join(', ');
        process.stdout.write(`created agent ${a.name}${limitsText ? ` (${limitsText})` : ''}\n`);
      });
    });

  const update = agent
    .command('update <name>')
    .description("change an agent's description, request rate, token limit, budgets, content logging or prompt caching (running gateways apply it)")
    .option('--rpm <n>', 'requests per minute for the whole agent (`off` clears it)')
    .option('--description <text>', 'what the agent is for')
    .option('--content <mode>', `what its checkpoints keep: ${CONTENT_MODES.join(' | ')}`)
    .option('--prompt-cache <on|off>', 'ask providers to cache the directive prefix (OpenAI prompt_cache_key, Anthropic cache_control)');
  addLimitFlags(update, true)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: LimitOpts & { rpm?: string; description?: string; content?: string; promptCache?: string; json?: boolean }) => {
      const patch: AgentPatch = { ...parseLimitFlags(opts) };
      if (opts.rpm !== undefined) patch.rpm = opts.rpm === 'off' || opts.rpm === 'none' ? null : parseIntFlag('--rpm', opts.rpm, 1, 10_000_000)!;
      if (opts.description !== undefined) patch.description = opts.description;
      if (opts.content !== undefined && !isContentMode(opts.content)) {
        throw new UsageError(`--content must be one of ${CONTENT_MODES.join(', ')}, got "${opts.content}"`);
      }
      if (opts.promptCache !== undefined && opts.promptCache !== 'on' && opts.promptCache !== 'off') {
        throw new UsageError(`--prompt-cache must be on or off, not "${opts.promptCache}"`);
      }
      if (Object.keys(patch).length === 0 && opts.content === undefined && opts.promptCache === undefined) {
        throw new UsageError('nothing to change', 'give at least one flag, e.g. --tpm 100000, --budget-usd-day 5 or --content redacted (see `ibex agent update --help`)');
      }
      await withStores(async (stores) => {
        let a = Object.keys(patch).length ? await updateAgent(stores, name, patch) : await stores.agents.get(name);
        if (!a) throw noSuchAgent(name);
        const changes: string[] = [];
        if (Object.keys(patch).length) {
          const limitsText = [a.rpm ? `${a.rpm} rpm` : '', describeLimits(a)].filter(Boolean).join(', ');
          changes.push(limitsText || 'no limits');
        }
        if (opts.content !== undefined && isContentMode(opts.content)) {
          a = (await stores.agents.setContentMode(name, opts.content)) ?? a;
          changes.push(`content ${opts.content} (running gateways apply it within a minute)`);
        }
        let promptCache: boolean | undefined;
        if (opts.promptCache !== undefined) {
          const on = opts.promptCache === 'on';
          promptCache = (
            await setPromptCache(stores, name, on).catch((err) => {
              if (err instanceof NotFoundError) throw noSuchAgent(name);
              throw err;
            })
          ).promptCache;
          changes.push(`prompt cache ${on ? 'on' : 'off'}`);
        }
        if (opts.json) return printJson({ ...view(a), ...(promptCache === undefined ? {} : { promptCache }) });
        process.stdout.write(`updated agent ${a.name}: ${changes.join(', ')}\n`);
      });
    });

  agent
    .command('list')
    .description('list agents')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withStores(async (stores) => {
        const agents = (await stores.agents.list()).map(view);
        if (opts.json) return printJson(agents);
        printTable(
          agents.map((a) => ({ ...a, budgets: describeLimits({ ...a, tpm: null }) || null })),
          ['name', 'enabled', 'rpm', 'tpm', 'budgets', 'description', 'createdAt'],
        );
      });
    });

  for (const [verb, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    agent
      .command(`${verb} <name>`)
      .description(enabled ? 'enable an agent' : 'disable an agent: its requests are rejected everywhere within seconds')
      .option('--json', 'print JSON')
      .action(async (name: string, opts: { json?: boolean }) => {
        await withStores(async (stores) => {
          const a = await setAgentEnabled(stores, name, enabled);
          if (!a) throw noSuchAgent(name);
          if (opts.json) return printJson(view(a));
          process.stdout.write(`${enabled ? 'enabled' : 'disabled'} agent ${a.name}\n`);
        });
      });
  }

}
