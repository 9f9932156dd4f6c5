// Every admin API call: the admin token as bearer, JSON in and out, OpenAI-shaped errors turned
// into ApiError. A 401 means the token is no longer good: sign out, which shows the sign-in page.
import { getToken, signOut } from './auth';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    /** The gateway has no such route: an older version than this dashboard */
    readonly routeMissing: boolean,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T>(path: string, opts: { method?: string; body?: unknown; query?: Query } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${getToken() ?? ''}`, accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(withQuery(`/admin/v1${path}`, opts.query), {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (err) {
    throw new ApiError(`The gateway did not answer: ${(err as Error).message}`, 0, null, false);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below by status
  }
  if (res.ok) return json as T;
  const error = (json as { error?: { message?: string; code?: string } } | null)?.error;
  const message = error?.message ?? `The gateway answered ${res.status}.`;
  if (res.status === 401) signOut();
  // The gateway's catch-all 404 says "No route …"; a 404 for a missing record does not.
  const routeMissing = res.status === 404 && /^No route /.test(message);
  throw new ApiError(message, res.status, error?.code ?? null, routeMissing);
}

export interface List<T> {
  data: T[];
  next_cursor?: string | null;
}
