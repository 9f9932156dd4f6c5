// `ibex providers`: a running gateway's providers, key pools and health, through the admin API
// (GET /admin/v1/providers). Health is per replica and in memory: this shows the replica --url reaches.
import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { UserError } from '../src/errors.js';
import { printJson, printTable } from '../src/cli/output.js';
import { defaultGatewayUrl, parseGatewayUrl, resolveAdminToken } from '../src/tail/target.js';
import type { ProvidersView } from '../src/providers/status-view.js';

interface ProvidersFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('providers')
    .description("a running gateway's providers: key pools (masked), cooldowns, circuit breaker, requests, errors, last success and error")
    .option('--url <url>', 'gateway base URL (default: http://IBEX_HOST:IBEX_PORT)')
    .option('--token <token>', 'admin token (default: IBEX_ADMIN_TOKEN, else $IBEX_HOME/admin-token)')
    .option('--json', 'print one JSON document')
    .action(async (flags: ProvidersFlags) => {
      const view = await fetchProviders(flags);
      if (flags.json) return printJson(view);
      printTable(view.providers.map(tableRow), COLUMNS);
      const names = Object.entries(view.models);
      if (names.length) {
        process.stdout.write('\n');
        printTable(
          names.map(([name, chain]) => ({ model: name, targets: chain.join(' → ') })),
          ['model', 'targets'],
        );
      }
    });
}

async function fetchProviders(flags: ProvidersFlags): Promise<ProvidersView> {
  const config = loadConfig();
  const url = flags.url ? parseGatewayUrl(flags.url) : defaultGatewayUrl(config);
  const token = resolveAdminToken(flags.token, config);
  let res: Response;
  try {
    res = await fetch(`${url}/admin/v1/providers`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new UserError(`cannot reach the gateway at ${url} (${cause})`, 'start it with `ibex serve`, or point --url at a running gateway');
  }
  if (res.status === 401) {
    throw new UserError(`the gateway at ${url} refused the admin token`, 'pass --token or set IBEX_ADMIN_TOKEN to the gateway\'s admin token');
  }
  if (res.status === 404) {
    throw new UserError(`the gateway at ${url} has no /admin/v1/providers`, 'upgrade that gateway, or check --url');
  }
  if (!res.ok) throw new UserError(`the gateway at ${url} answered ${res.status}`, 'check the gateway\'s log');
  return (await res.json()) as ProvidersView;
}

const COLUMNS = ['provider', 'kind', 'base url', 'keys', 'open circuits', 'requests', 'errors', 'last success', 'last error'];

function tableRow(p: ProvidersView['providers'][number]): Record<string, unknown> {
  const now = Date.now();
  return {
    provider: p.id,
    kind: p.kind,
    'base url': p.baseUrl,
    keys: p.keys.length === 0 ? 'none' : p.keys.map((k) => (k.coolingUntil ? `${k.key} (cooling ${secondsUntil(k.coolingUntil, now)}s)` : k.key)).join(', '),
    // The models tried last for now, with the seconds left (an older gateway's view has no breakers).
    'open circuits': (p.health.breakers ?? []).filter((b) => b.openUntil).map((b) => `${b.model} (${secondsUntil(b.openUntil!, now)}s)`).join(', ') || 'none',
    requests: p.health.requests,
    errors: p.health.errors,
    'last success': p.health.lastSuccessAt,
    'last error': p.health.lastError ? `${p.health.lastError.at} ${p.health.lastError.message}` : null,
  };
}

function secondsUntil(iso: string, now: number): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
}
