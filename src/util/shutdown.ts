// The long-running commands (serve, auth-server) stop the same way on SIGINT/SIGTERM: once, whichever
// signal comes first; exit 0 when the stop completed, 1 (with the error logged) when it failed.
import type { Logger } from '../log.js';

export function stopOnSignals(log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    try {
      await stop(signal);
      process.exit(0);
    } catch (err) {
      log.error('shutdown failed', err);
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void onSignal('SIGINT'));
  process.once('SIGTERM', () => void onSignal('SIGTERM'));
}
