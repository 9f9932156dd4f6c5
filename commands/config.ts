import type { Command } from 'commander';
import { UsageError } from '../src/errors.js';
import { CONFIG_KEYS, loadConfig, resolveHome, type ConfigKey } from '../src/config.js';
import { openConfigFile } from '../src/config-file.js';

const SECRET_KEYS = new Set<ConfigKey>(['upstreamKey', 'adminToken']);

function checkKey(key: string): ConfigKey {
  if (!(key in CONFIG_KEYS)) throw new UsageError(`unknown config key "${key}"`, `known keys: ${Object.keys(CONFIG_KEYS).join(', ')}`);
  return key as ConfigKey;
}

export function register(program: Command): void {
  const config = program.command('config').description('the config file (flags > env > file > defaults)');
  config
    .command('path')
    .description('print where the config file is')
    .action(() => {
      process.stdout.write(openConfigFile(resolveHome()).path + '\n');
    });
  config
    .command('get [key]')
    .description('print one key, or the whole file (secrets masked)')
    .option('--json', 'print JSON')
    .action((key: string | undefined, opts: { json?: boolean }) => {
      const file = openConfigFile(resolveHome());
      if (key !== undefined) {
        const k = checkKey(key);
        const v = file.get(k);
        if (opts.json) return void process.stdout.write(JSON.stringify(v ?? null) + '\n');
        return void process.stdout.write((v === undefined ? '' : String(v)) + '\n');
      }
      const masked = Object.fromEntries(Object.entries(file.store).map(([k, v]) => [k, SECRET_KEYS.has(k as ConfigKey) ? '***' : v]));
      process.stdout.write(JSON.stringify(masked, null, 2) + '\n');
    });
  config
    .command('set <key> <value>')
    .description('set a key in the config file')
    .action((key: string, value: string) => {
      const k = checkKey(key);
      // Validated exactly as it will be read (a flag has the highest precedence), so a bad value
      // is refused now rather than breaking every later command.
      loadConfig({ [k]: value });
      openConfigFile(resolveHome()).set(k, value);
      process.stdout.write(`${k} set\n`);
    });
  config
    .command('unset <key>')
    .description('remove a key from the config file')
    .action((key: string) => {
      openConfigFile(resolveHome()).delete(checkKey(key));
    });
}
