// The request debug log: opt-in (IBEX_DEBUG_REQUESTS), see writer.ts and path.ts.
import { debugLogPath } from './path.js';
import { RequestDebugLog } from './writer.js';

export { RequestDebugLog, type DebugLogOptions } from './writer.js';
export { debugRecord, type DebugNotes } from './record.js';
export { debugLogPath, debugLogReadPath } from './path.js';

/** The log when IBEX_DEBUG_REQUESTS is set (IBEX_DEBUG_REQUESTS_MAX_BYTES bounds one file), else null. */
export function openDebugLog(env: NodeJS.ProcessEnv, home: string): RequestDebugLog | null {
  const path = debugLogPath(env, home);
  if (!path) return null;
  const max = Number(env.IBEX_DEBUG_REQUESTS_MAX_BYTES);
  return new RequestDebugLog(path, Number.isSafeInteger(max) && max > 0 ? { maxBytes: max } : {});
}
