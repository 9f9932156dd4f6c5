// A small client of the admin API (/admin/v1) for the CLI's --url mode. Answers the API gives for
// this token or this gateway as a whole (refused token, read-only token, unreachable, not an ibex
// gateway) become user errors naming the fix; per-resource answers (404, 409) are returned as
// AdminApiError for the caller to read as "not found" or "conflict".
import { request } from 'undici';
import { UserError } from '../errors.js';
import type { RemoteTarget } from './remote-target.js';

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly param: string | null,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

type Query = Record<string, string | number | undefined>;

/** The longest one admin call may take (a cold ClickHouse page included). */
const TIMEOUT_MS = 30_000;

export class AdminClient {
  constructor(private readonly target: RemoteTarget) {}

  get url(): string {
    return this.target.url;
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.call<T>('GET', path, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, {}, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, {}, body);
  }

  /** Every row of a list route, page by page, up to `max` rows. */
  async all<T>(path: string, query: Query = {}, max = Number.MAX_SAFE_INTEGER): Promise<T[]> {
    const rows: T[] = [];
    let cursor: string | undefined = query.cursor as string | undefined;
    for (;;) {
      const limit = Math.min(500, max - rows.length);
      const page = await this.get<{ data: T[]; next_cursor: string | null }>(path, { ...query, limit, cursor });
      rows.push(...page.data);
      if (page.next_cursor === null || rows.length >= max) return rows;
      cursor = page.next_cursor;
    }
  }

  private async call<T>(method: string, path: string, query: Query, body?: unknown): Promise<T> {
    const url = new URL(`${this.target.url}/admin/v1${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let res;
    try {
      res = await request(url, {
        method: method as 'GET',
        headers: { authorization: `Bearer ${this.target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const code = e.code ?? e.cause?.code ?? e.message;
      throw new UserError(`cannot reach the gateway at ${this.target.url} (${code})`, 'check --url and that the gateway is running (`curl URL/healthz`)');
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.statusCode < 300) {
      if (json === undefined) throw notIbex(this.target.url, res.statusCode);
      return json as T;
    }
    const error = (json as { error?: { message?: string; code?: string | null; param?: string | null } } | undefined)?.error;
    if (!error) throw notIbex(this.target.url, res.statusCode);
    if (res.statusCode === 401) {
      throw new UserError(`the gateway at ${this.target.url} refused the admin token`, "use the gateway's own admin token (its IBEX_ADMIN_TOKEN or $IBEX_HOME/admin-token) via IBEX_ADMIN_TOKEN or --admin-token-file");
    }
    if (error.code === 'admin_read_only') {
      throw new UserError(`the token is the gateway's read-only admin token: it cannot ${method} ${path}`, 'use the admin token for changes');
    }
    if (res.statusCode === 404 && /^No route /.test(error.message ?? '')) {
      throw new UserError(`the gateway at ${this.target.url} has no admin route ${method} /admin/v1${path.split('?')[0]}`, 'upgrade the gateway to a version with the admin API');
    }
    throw new AdminApiError(res.statusCode, error.code ?? null, error.message ?? `HTTP ${res.statusCode}`, error.param ?? null);
  }
}

function notIbex(url: string, status: number): UserError {
  return new UserError(`${url} did not answer like an ibex gateway (HTTP ${status}, not the admin API's JSON)`, 'check --url: it is the gateway address, e.g. http://127.0.0.1:8787');
}
