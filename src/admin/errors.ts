// Admin API errors that the core catalog (src/errors.ts) does not have yet: a read-only token asking
// to write, and a write that lost a race (`if-version`). Same shape and fields as catalog entries, so
// they move into ERRORS unchanged once the catalog takes them; the rest of the admin API uses the
// catalog's own entries (invalid_admin_token, not_found, invalid_request, internal_error).
import type { CatalogEntry, OpenAIErrorBody } from '../errors.js';

export const ADMIN_ERRORS = {
  IBEX_ERR_ADMIN_READ_ONLY: {
    status: 403,
    type: 'permission_error',
    code: 'admin_read_only',
    message: 'The read-only admin token can only read (GET); use the admin token to change anything.',
  },
  IBEX_ERR_CONFLICT: {
    status: 409,
    type: 'invalid_request_error',
    code: 'conflict',
    message: 'The request conflicts with the current state.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type AdminErrorName = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  readonly name = 'AdminError';
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;

  constructor(errorName: AdminErrorName, opts: { message?: string; param?: string | null } = {}) {
    const entry: CatalogEntry = ADMIN_ERRORS[errorName];
    super(opts.message ?? entry.message);
    this.status = entry.status;
    this.type = entry.type;
    this.code = entry.code;
    this.param = opts.param ?? null;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}
