import type { Command } from 'commander';
import { UsageError } from '../src/errors.js';
import { CONFIG_KEYS, maskConfigValue, resolveHome, validateConfigValue, type ConfigKey } from '../src/config.js';
import { openConfigFile } from '../src/config-file.js';
import { printJson } from '../src/cli/output.js';

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
    .description('print one key, or the whole file (secrets and passwords in URLs masked)')
    .option('--json', 'print JSON')
    .action((key: string | undefined, opts: { json?: boolean }) => {
      const file = openConfigFile(resolveHome());
      // Shown values may end up in a terminal recording or a support ticket: never the secrets
      // themselves (they are in the file, see `ibex config path`).
      if (key !== undefined) {
        const k = checkKey(key);
        const v = maskConfigValue(k, file.get(k));
        if (opts.json) return printJson(v ?? null);
        return void process.stdout.write((v === undefined ? '' : String(v)) + '\n');
      }
      printJson(Object.fromEntries(Object.entries(file.store).map(([k, v]) => [k, maskConfigValue(k, v)])));
    });
  config
    .command('set <key> <value>')
    .description('set a key in the config file (checked like at start: a bad value is refused)')
    .action((key: string, value: string) => {
      const k = checkKey(key);
      // The same validator as at start, so the file never holds a value that would stop every later
      // command. Only this key is checked: a bad value elsewhere must not block fixing this one.
      validateConfigValue(k, value);
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
