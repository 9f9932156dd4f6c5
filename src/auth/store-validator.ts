// In-process token validation: one indexed read of the TokenStore per cache miss.
import type { TokenStore } from '../stores/ports.js';
import { withDeadline } from '../util/deadline.js';
import { principalFromRecord, type Principal, type TokenValidator } from './principal.js';

export interface StoreTokenValidatorOptions {
  /** How long to wait for the store before giving up (→ 503). Default 1000 ms. */
  deadlineMs?: number;
}

export class StoreTokenValidator implements TokenValidator {
  private readonly deadlineMs: number;

  constructor(
    private readonly tokens: TokenStore,
    opts: StoreTokenValidatorOptions = {},
  ) {
    this.deadlineMs = opts.deadlineMs ?? 1000;
  }

  async validate(hash: string, opts: { deadlineMs?: number } = {}): Promise<Principal | null> {
    const pat = await withDeadline(this.tokens.findByHash(hash), opts.deadlineMs ?? this.deadlineMs, 'token store');
    if (!pat || pat.revokedAt !== null) return null;
    return principalFromRecord(pat);
  }
}
