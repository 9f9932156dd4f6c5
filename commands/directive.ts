import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, UserError } from '../src/errors.js';
import { remoteAdminClient, withStores } from '../src/cli/with-stores.js';
import { AdminApiError } from '../src/cli/admin-client.js';
import { noSuchAgent, requireAgent } from '../src/cli/agents.js';
import { isoTimes, printJson, printTable } from '../src/cli/output.js';
import { parseIntFlag } from '../src/cli/parse.js';
import { abortDirective, promoteDirective, rollbackDirective, setDirective } from '../src/ops/directives.js';
import { ConflictError, NotFoundError, type Directive, type DirectiveDeploy, type DirectiveRollout } from '../src/stores/ports.js';
import { unifiedDiff } from '../src/directives/diff.js';
import { ApplyError, formatPlan, planApply, readDirectiveFiles, type ApplyStep } from '../src/directives/apply.js';
import { versionStats, type VersionStats } from '../src/directives/stats.js';

const view = (d: Directive) => isoTimes(d);

/** The admin API's 404 for an unknown agent, as the CLI says it locally. */
function remoteNotFound(err: unknown, agent: string): unknown {
  return err instanceof AdminApiError && err.status === 404 ? noSuchAgent(agent) : err;
}

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
    .option('--if-version <n>', 'fail unless the latest version is N (0 = none yet): no lost updates')
    .option('--canary <pct>', 'serve the new version to PCT % of new sessions only (end with `directive promote|abort`)')
    .option('--rollout <mode>', 'new-sessions (default: a session keeps the version it started with) or all-sessions')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { text?: string; file?: string; ifVersion?: string; canary?: string; rollout?: string; json?: boolean }) => {
      if ((opts.text === undefined) === (opts.file === undefined)) throw new UsageError('give exactly one of --text or --file');
      let text = opts.text;
      if (opts.file !== undefined) text = opts.file === '-' ? await readStdin() : readTextFile(opts.file);
      if (!text || text.trim() === '') throw new UsageError('the directive text is empty');
      const ifVersion = parseIntFlag('--if-version', opts.ifVersion, 0);
      const canary = parseIntFlag('--canary', opts.canary, 1, 100);
      const rollout = parseRollout(opts.rollout);
      await withStores(async (stores) => {
        const d = await setDirective(stores, agent, text!, ifVersion, { canary, rollout }).catch((err) => mapStoreError(err, agent));
        if (opts.json) return printJson(view(d));
        const how =
          canary !== undefined
            ? ` as a canary for ${canary}% of new sessions; end it with \`ibex directive promote ${agent}\` or \`abort\``
            : rollout === 'all-sessions'
              ? ', served to every session'
              : '';
        process.stdout.write(`${agent}: directive version ${d.version} (sha256 ${d.sha256.slice(0, 12)})${how}\n`);
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
        const deploy = await stores.directives.deployState(agent);
        const rows = (await stores.directives.history(agent)).map((d) => ({ ...view(d), serving: serving(deploy, d.version) }));
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((d) => ({ ...d, sha256: d.sha256.slice(0, 12), text: d.text.replace(/\s+/g, ' ').slice(0, 60) })),
          ['version', 'serving', 'createdAt', 'sha256', 'text'],
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

  for (const verb of ['promote', 'abort'] as const) {
    directive
      .command(`${verb} <agent>`)
      .description(
        verb === 'promote'
          ? "end the agent's canary: serve its version to every new session"
          : "end the agent's canary: serve the stable text again (as a new version)",
      )
      .option('--rollout <mode>', "new-sessions or all-sessions (default: the canary's own)")
      .option('--json', 'print JSON')
      .action(async (agent: string, opts: { rollout?: string; json?: boolean }) => {
        const rollout = parseRollout(opts.rollout);
        await withStores(async (stores) => {
          if (verb === 'promote') {
            const d = await promoteDirective(stores, agent, rollout).catch((err) => mapCanaryError(err, agent));
            if (opts.json) return printJson(isoTimes(d));
            process.stdout.write(`${agent}: version ${d.stable} promoted: served to every new session${d.rollout === 'all-sessions' ? ' and every started one' : ''}\n`);
          } else {
            const d = await abortDirective(stores, agent, rollout).catch((err) => mapCanaryError(err, agent));
            if (opts.json) return printJson(view(d));
            process.stdout.write(`${agent}: canary aborted: version ${d.version} serves the stable text again\n`);
          }
        });
      });
  }

  directive
    .command('diff <agent>')
    .description('show what changed between two versions (default: the previous or stable version → the latest)')
    .option('--from <n>', 'the older version (0 = empty)')
    .option('--to <n>', 'the newer version')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { from?: string; to?: string; json?: boolean }) => {
      const fromFlag = parseIntFlag('--from', opts.from, 0);
      const toFlag = parseIntFlag('--to', opts.to, 1);
      await withStores(async (stores) => {
        await requireAgent(stores, agent);
        const deploy = await stores.directives.deployState(agent);
        const latest = deploy?.latest ?? 0;
        if (latest === 0) throw new UserError(`agent "${agent}" has no directive`, `set one with \`ibex directive set ${agent} --text …\``);
        const to = toFlag ?? latest;
        // During a canary the interesting change is stable → canary.
        const from = fromFlag ?? (toFlag === undefined && deploy?.canary ? deploy.stable : to - 1);
        const text = async (v: number) => {
          if (v === 0) return '';
          const d = await stores.directives.get(agent, v);
          if (!d) throw new UserError(`agent "${agent}" has no version ${v}`, 'see `ibex directive history AGENT`');
          return d.text;
        };
        const diff = unifiedDiff(await text(from), await text(to), { from: `${agent} v${from}`, to: `${agent} v${to}` });
        if (opts.json) return printJson({ agent, from, to, changed: diff !== '', diff });
        process.stdout.write(diff || `${agent}: v${from} and v${to} have the same text\n`);
      });
    });

  directive
    .command('apply')
    .description('make each agent\'s directive the text of DIR/AGENT.md, creating a version only where it changed')
    .requiredOption('-f, --dir <dir>', 'folder of AGENT.md files')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; dryRun?: boolean; json?: boolean }) => {
      await withStores(async (stores) => {
        let steps: ApplyStep[];
        try {
          const files = readDirectiveFiles(opts.dir);
          if (!files.length) throw new ApplyError([`${opts.dir} has no AGENT.md files`]);
          steps = await planApply(stores, files);
          if (!opts.dryRun) {
            for (const s of steps) {
              if (s.action === 'unchanged') continue;
              const text = files.find((f) => f.agent === s.agent)!.text;
              // --if-version: a concurrent change since the plan fails this agent instead of being overwritten
              const d = await setDirective(stores, s.agent, text, s.from).catch((err) => mapStoreError(err, s.agent));
              s.to = d.version;
            }
          }
        } catch (err) {
          if (err instanceof ApplyError) throw new UserError(`nothing applied: ${err.message}`, 'fix the files or create the agents, then apply again');
          throw err;
        }
        if (opts.json) return printJson({ dryRun: !!opts.dryRun, steps });
        process.stdout.write(formatPlan(steps, !!opts.dryRun));
      });
    });

  directive
    .command('stats <agent>')
    .description('requests, sessions, errors, latency, tokens, cost and prompt-cache hits per version')
    .option('--limit <n>', 'how many recent traces to read', '10000')
    .option('--json', 'print JSON')
    .action(async (agent: string, opts: { limit: string; json?: boolean }) => {
      const limit = parseIntFlag('--limit', opts.limit, 1)!;
      // With --url the gateway reads its own stores (GET /admin/v1/directives/:agent/stats).
      const api = remoteAdminClient();
      const report = api
        ? await api
            .get<{ traces: number; canary: number | null; data: VersionStats[] }>(`/directives/${encodeURIComponent(agent)}/stats`, { limit })
            .then((r) => ({ traces: r.traces, canary: r.canary, versions: r.data }), (err) => Promise.reject(remoteNotFound(err, agent)))
        : await withStores(async (stores) => {
            await requireAgent(stores, agent);
            const [deploy, traces, totals] = await Promise.all([
              stores.directives.deployState(agent),
              stores.traces.list({ agent, limit }),
              stores.directives.checkpointTotals(agent),
            ]);
            return { traces: traces.length, canary: deploy?.canary ?? null, versions: versionStats(traces, totals, deploy) };
          });
      if (opts.json) return printJson({ agent, ...report });
      const stats = report.versions;
      const withCost = stats.some((s) => s.costUsd !== null);
      printTable(
        stats.map((s) => ({
          ...s,
          errorRate: `${(s.errorRate * 100).toFixed(1)}%`,
          p50: s.latencyMs.p50 === null ? null : Math.round(s.latencyMs.p50),
          p95: s.latencyMs.p95 === null ? null : Math.round(s.latencyMs.p95),
          tokens: s.totalTokens,
          cost: s.costUsd === null ? null : `$${s.costUsd.toFixed(4)}`,
          cached: s.cachedTokens,
        })),
        ['version', 'role', 'requests', 'sessions', 'errors', 'errorRate', 'p50', 'p95', 'tokens', ...(withCost ? ['cost'] : []), 'cached', 'cacheHits'],
      );
      process.stdout.write(`(the last ${report.traces} traces of ${agent}; latency in ms; cached = prompt tokens from the provider's cache)\n`);
    });
}

function parseRollout(v: string | undefined): DirectiveRollout | undefined {
  if (v === undefined) return undefined;
  if (v === 'new-sessions' || v === 'all-sessions') return v;
  throw new UsageError(`--rollout must be new-sessions or all-sessions, not "${v}"`);
}

function mapCanaryError(err: unknown, agent: string): never {
  if (err instanceof ConflictError) throw new UserError(err.message, `start one with \`ibex directive set ${agent} --text … --canary PCT\``);
  return mapStoreError(err, agent);
}

/** The `serving` column of history: who gets this version now. */
function serving(d: DirectiveDeploy | null, version: number): string {
  if (!d) return '';
  if (d.canary?.version === version) return `canary ${d.canary.percent}%`;
  if (d.stable === version) return d.canary ? `stable ${100 - d.canary.percent}%` : 'current';
  return '';
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
