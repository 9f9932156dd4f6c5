// Where the request debug log lives: IBEX_DEBUG_REQUESTS names the file (`1`/`true`: the default
// `$IBEX_HOME/logs/requests.jsonl`); unset → off. `ibex logs --requests` reads the same place.
import { join, resolve } from 'node:path';

export const DEFAULT_DEBUG_LOG = join('logs', 'requests.jsonl');

/** The log file, or null when request debug logging is off. */
export function debugLogPath(env: NodeJS.ProcessEnv, home: string): string | null {
  const v = env.IBEX_DEBUG_REQUESTS?.trim();
  if (!v || v === '0' || v === 'false') return null;
  return v === '1' || v === 'true' ? join(home, DEFAULT_DEBUG_LOG) : resolve(v);
}

/** Where `ibex logs --requests` looks: the configured file, else the default one. */
export function debugLogReadPath(env: NodeJS.ProcessEnv, home: string): string {
  return debugLogPath(env, home) ?? join(home, DEFAULT_DEBUG_LOG);
}
