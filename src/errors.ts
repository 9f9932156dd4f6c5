// The one error catalog. Every HTTP error ibex returns is built from an entry here, so
// status, OpenAI `type` and `code` never drift between call sites. `test/unit/errors.test.ts`
// checks that each entry is documented in docs/errors.md.

export interface CatalogEntry {
  status: number;
  /** OpenAI `error.type` */
  type: string;
  /** OpenAI `error.code`, the stable string clients switch on */
  code: string;
  /** Default human message */
  message: string;
}

export const ERRORS = {
  IBEX_ERR_INVALID_API_KEY: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect or missing API key. Send `Authorization: Bearer ibex_pat_…`.',
  },
  IBEX_ERR_ADMIN_TOKEN: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_admin_token',
    message: 'The admin token is missing or wrong.',
  },
  IBEX_ERR_AGENT_FORBIDDEN: {
    status: 403,
    type: 'permission_error',
    code: 'agent_forbidden',
    message: 'The agent is unknown, disabled or not allowed for this token.',
  },
  IBEX_ERR_NOT_FOUND: {
    status: 404,
    type: 'invalid_request_error',
    code: 'not_found',
    message: 'No such route.',
  },
  IBEX_ERR_RATE_LIMITED: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests.',
  },
  IBEX_ERR_BUDGET_EXCEEDED: {
    status: 429,
    type: 'insufficient_quota',
    code: 'budget_exceeded',
    message: 'A spend budget of this agent or token is used up until its window resets.',
  },
  IBEX_ERR_INVALID_REQUEST: {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    message: 'The request body is not valid.',
  },
  IBEX_ERR_REQUEST_TOO_LARGE: {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    message: 'The request body is larger than the limit.',
  },
  IBEX_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    type: 'invalid_request_error',
    code: 'request_headers_too_large',
    message: 'The request headers are larger than the limit.',
  },
  IBEX_ERR_POLICY_VIOLATION: {
    status: 400,
    type: 'invalid_request_error',
    code: 'policy_violation',
    message: 'The request was blocked by a policy of this agent.',
  },
  IBEX_ERR_UPSTREAM_AUTH: {
    status: 502,
    type: 'api_error',
    code: 'upstream_auth_error',
    message: 'The provider rejected the gateway’s credentials (check OPENAI_API_KEY).',
  },
  IBEX_ERR_UPSTREAM_RATE_LIMITED: {
    status: 429,
    type: 'rate_limit_error',
    code: 'upstream_rate_limited',
    message: 'The provider is rate limiting requests.',
  },
  IBEX_ERR_UPSTREAM: {
    status: 502,
    type: 'api_error',
    code: 'upstream_error',
    message: 'The provider failed to answer.',
  },
  IBEX_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    type: 'api_error',
    code: 'upstream_timeout',
    message: 'The provider did not answer in time.',
  },
  IBEX_ERR_UPSTREAM_INVALID_RESPONSE: {
    status: 502,
    type: 'api_error',
    code: 'upstream_invalid_response',
    message: 'The provider answered with something that is not a chat completion.',
  },
  IBEX_ERR_SHUTTING_DOWN: {
    status: 503,
    type: 'api_error',
    code: 'server_shutting_down',
    message: 'This gateway is shutting down; retry the request (another replica will take it).',
  },
  IBEX_ERR_SERVER_BUSY: {
    status: 503,
    type: 'api_error',
    code: 'server_busy',
    message: 'This gateway holds as many request bodies as it may at once (IBEX_MAX_INFLIGHT_BODY_BYTES); retry shortly.',
  },
  IBEX_ERR_SERVICE_UNAVAILABLE: {
    status: 503,
    type: 'api_error',
    code: 'service_unavailable',
    message: 'A store ibex needs for this request is unavailable; retry shortly.',
  },
  IBEX_ERR_INTERNAL: {
    status: 500,
    type: 'api_error',
    code: 'internal_error',
    message: 'Internal error in the gateway.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorName = keyof typeof ERRORS;

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** An error that maps to one catalog entry and renders as an OpenAI error body. */
export class IbexError extends Error {
  readonly name = 'IbexError';
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  /** Extra response headers (e.g. retry-after) */
  readonly headers: Record<string, string>;

  constructor(
    readonly errorName: ErrorName,
    opts: { message?: string; param?: string | null; headers?: Record<string, string>; status?: number; cause?: unknown } = {},
  ) {
    const entry: CatalogEntry = ERRORS[errorName];
    super(opts.message ?? entry.message, { cause: opts.cause });
    this.status = opts.status ?? entry.status;
    this.type = entry.type;
    this.code = entry.code;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

/** An error a provider returned that is passed through with its own status and body. */
export class UpstreamPassthroughError extends Error {
  readonly name = 'UpstreamPassthroughError';
  constructor(
    readonly status: number,
    readonly body: OpenAIErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error.message);
  }
  get code(): string {
    return body_code(this.body);
  }
  toBody(): OpenAIErrorBody {
    return this.body;
  }
}

function body_code(b: OpenAIErrorBody): string {
  return b.error.code ?? b.error.type ?? 'upstream_error';
}

export function openAIError(name: ErrorName, message?: string, param?: string): OpenAIErrorBody {
  return new IbexError(name, { message, param }).toBody();
}

// ---- CLI error kinds (after Shopify cli-kit): the top-level handler prints them ----

/** Something the user can fix: printed as one line and a hint, no stack, exit 1. */
export class UserError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The command line itself is wrong: exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
