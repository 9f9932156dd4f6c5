// Opens the configured stores for one CLI command, migrated (unless the command is `migrate` itself),
// and always closes them. A store that cannot be reached is a user-fixable error, not a bug.
// With --url (remote-target.ts) the "stores" are the admin API of that gateway (remote-stores.ts).
import { loadConfig, type IbexConfig } from '../config.js';
import { openStores, type OpenedStores } from '../stores/factory.js';
import { storeUnavailable } from './store-errors.js';
import { remoteOptions, resolveRemoteTarget } from './remote-target.js';
import { openRemoteStores } from './remote-stores.js';
import { AdminClient } from './admin-client.js';

export { storeUnavailable };

export async function withStores<T>(
  fn: (stores: OpenedStores, config: IbexConfig) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const remote = resolveRemoteTarget(remoteOptions(), config.adminToken);
  if (remote) return fn(openRemoteStores(remote), config);
  let stores: OpenedStores;
  try {
    stores = await openStores(config);
    if (opts.migrate !== false) await stores.migrate();
  } catch (err) {
    throw storeUnavailable(err, config);
  }
  try {
    return await fn(stores, config);
  } finally {
    await stores.close();
  }
}

/**
 * With --url, a client of that gateway's admin API, else null: for the few commands whose work the
 * gateway does as a whole (retention, per-version stats) rather than through the store ports.
 */
export function remoteAdminClient(): AdminClient | null {
  const remote = resolveRemoteTarget(remoteOptions(), loadConfig().adminToken);
  return remote ? new AdminClient(remote) : null;
}
