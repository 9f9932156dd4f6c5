// `ibex bench --stores production`: the gateway under test runs on the Postgres, Redis and ClickHouse
// the environment names (IBEX_DATABASE_URL, IBEX_REDIS_URL, IBEX_CLICKHOUSE_URL), as a production
// replica would. Those stores are shared and kept, so the bench adds its own agent under a unique name
// (`bench-<random>`), a directive and a PAT, and revokes the PAT and disables the agent at the end.
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { loadConfig } from '../config.js';
import { openStores } from '../stores/factory.js';
import { createAgent, createPat, revokePat, setAgentEnabled } from '../ops/identity.js';
import { setDirective } from '../ops/directives.js';

/**
 * The bench agent's requests-per-minute limit: high enough never to be reached, set so the rate
 * limiter runs on every request — the "full pipeline" includes limits.
 */
export const BENCH_AGENT_RPM = 10_000_000;

export const PRODUCTION_STORE_ENV = ['IBEX_DATABASE_URL', 'IBEX_REDIS_URL', 'IBEX_CLICKHOUSE_URL'] as const;

/** The three store URLs from `env`; a UserError naming the missing ones otherwise. */
export function productionStoreEnv(env: NodeJS.ProcessEnv): Record<(typeof PRODUCTION_STORE_ENV)[number], string> {
  const missing = PRODUCTION_STORE_ENV.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new UserError(
      `--stores production needs ${missing.join(', ')} in the environment`,
      'set IBEX_DATABASE_URL=postgres://…, IBEX_REDIS_URL=redis://… and IBEX_CLICKHOUSE_URL=http://…:8123/DB',
    );
  }
  return { IBEX_DATABASE_URL: env.IBEX_DATABASE_URL!, IBEX_REDIS_URL: env.IBEX_REDIS_URL!, IBEX_CLICKHOUSE_URL: env.IBEX_CLICKHOUSE_URL! };
}

export interface ProductionBenchIdentity {
  agent: string;
  token: string;
  /** revokes the PAT and disables the agent (best effort) */
  cleanup(): Promise<void>;
}

/**
 * Migrates the stores and creates the bench identity. `home` is the gateway's own state folder (spool,
 * admin token); `storeEnv` the three URLs.
 */
export async function prepareProductionStores(home: string, storeEnv: Record<string, string>, directive: string): Promise<ProductionBenchIdentity> {
  const env = { ...storeEnv, IBEX_HOME: home };
  const agent = `bench-${randomBytes(4).toString('hex')}`;
  const stores = await openStores(loadConfig({}, env));
  let patId: string;
  let token: string;
  try {
    await stores.migrate();
    await createAgent(stores, { name: agent, description: 'ibex bench --stores production (disabled when the run ends)', rpm: BENCH_AGENT_RPM });
    await setDirective(stores, agent, directive);
    const created = await createPat(stores, { agents: [agent], name: 'bench', rpm: null });
    patId = created.record.id;
    token = created.token;
  } finally {
    await stores.close();
  }
  return {
    agent,
    token,
    async cleanup() {
      const s = await openStores(loadConfig({}, env));
      try {
        await revokePat(s, patId);
        await setAgentEnabled(s, agent, false);
      } catch {
        // best effort: a leftover bench agent is harmless (its PAT was never shown outside this run)
      } finally {
        await s.close();
      }
    },
  };
}
