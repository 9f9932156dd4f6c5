// The config file, kept by `conf` as `$IBEX_HOME/config.json` (`ibex config path`).
// Kept in IBEX_HOME rather than conf's per-user default so each state folder carries its own settings
// and tests stay isolated.
import { mkdirSync } from 'node:fs';
import Conf from 'conf';

export function openConfigFile(home: string): Conf<Record<string, unknown>> {
  // conf would create the folder 0755; IBEX_HOME holds secrets (admin token, database), so 0700.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // It may hold upstreamKey, adminToken, database passwords: owner-only, like admin-token and ibex.db.
  return new Conf<Record<string, unknown>>({ projectName: 'ibex', cwd: home, configName: 'config', configFileMode: 0o600 });
}

export function readConfigFile(home: string): Record<string, unknown> {
  try {
    return openConfigFile(home).store;
  } catch {
    // A missing or unreadable file is the same as an empty one; `ibex config path` shows where it is.
    return {};
  }
}
