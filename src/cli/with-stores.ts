// Opens the configured stores for one CLI command, migrated (unless the command is `migrate` itself),
// and always closes them. A store that cannot be reached is a user-fixable error, not a bug.
// With --url (remote-target.ts) the "stores" are the admin API of that gateway (remote-stores.ts).
import { loadConfig, type IbexConfig } from '../config.js';
import { openStores, type OpenedStores } from '../stores/factory.js';
import { storeUnavailable } from './store-errors.js';
import { remoteOptions, resolveRemoteTarget } from './remote-target.js';
import { openRemoteStores } from './remote-stores.js';

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
