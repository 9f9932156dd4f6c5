// Opens the configured stores for one CLI command, migrated (unless the command is `migrate` itself),
// and always closes them. A store that cannot be reached is a user-fixable error, not a bug.
import { loadConfig, type IbexConfig } from '../config.js';
import { openStores, type OpenedStores } from '../stores/factory.js';
import { UserError } from '../errors.js';

/** The user error for a store that could not be opened or asked (passes a UserError through). */
export function storeUnavailable(err: unknown): UserError {
  if (err instanceof UserError) return err;
  return new UserError(
    `cannot reach the stores: ${(err as Error).message}`,
    'check IBEX_HOME, IBEX_DATABASE_URL, IBEX_REDIS_URL and IBEX_CLICKHOUSE_URL, and that those services are reachable',
  );
}

export async function withStores<T>(
  fn: (stores: OpenedStores, config: IbexConfig) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  let stores: OpenedStores;
  try {
    stores = await openStores(config);
    if (opts.migrate !== false) await stores.migrate();
  } catch (err) {
    throw storeUnavailable(err);
  }
  try {
    return await fn(stores, config);
  } finally {
    await stores.close();
  }
}
