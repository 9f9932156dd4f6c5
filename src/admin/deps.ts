// What the admin API needs from the gateway: the stores (the same ones the CLI opens; the API calls
// the same src/ops functions, so a write through either pushes the same bus events), the tokens, and
// where to log what went wrong.
import type { Stores } from '../stores/ports.js';
import type { AdminTokens } from './auth.js';
import type { PruneReport } from '../ledger/prune.js';

export type AdminStores = Pick<Stores, 'agents' | 'tokens' | 'revocations' | 'directives' | 'sessions' | 'traces' | 'bus'>;

export interface AdminApiDeps {
  stores: AdminStores;
  tokens: AdminTokens;
  logError(message: string, err: unknown): void;
  /** Retention now, on the gateway's stores and settings; absent → no /prune route */
  prune?: (opts: { dryRun: boolean }) => Promise<PruneReport>;
  /** The clock (tests); default Date.now */
  now?: () => number;
}

export const ADMIN_PREFIX = '/admin/v1';
