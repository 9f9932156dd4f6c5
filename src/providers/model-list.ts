// GET /v1/models (issue 13): the first provider's own list plus the ibex.yaml `models:` names (public
// names and aliases), each id once. An alias is what a client should send, so it is listed even when
// the provider's list cannot be fetched. The provider may answer in OpenAI's shape or in Anthropic's
// (`type: model`, `created_at`); the caller gets the shape of its own API: Anthropic's when it sent
// `anthropic-version` (the Anthropic SDK always does), else OpenAI's. OpenAI-shaped entries are kept
// as the provider sent them (OpenRouter-like providers add context lengths, prices…).

type Entry = Record<string, unknown> & { id: string };
export type ListShape = 'openai' | 'anthropic';

/** The entries of a provider's list body; [] when it is not a list. */
export function parseModelList(text: string | null): Entry[] {
  if (text === null) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data.filter((m): m is Entry => !!m && typeof m === 'object' && typeof (m as Entry).id === 'string');
}

/** The provider's entries, then the configured names it does not list, in the caller's shape. */
export function modelListBody(entries: readonly Entry[], aliases: readonly string[], provider: string, shape: ListShape, now = Date.now()): object {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const e of entries) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(shape === 'anthropic' ? asAnthropic(e) : asOpenAI(e, provider));
  }
  for (const id of aliases) {
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(aliasEntry(id, shape, now));
  }
  if (shape === 'openai') return { object: 'list', data: out };
  return { data: out, has_more: false, first_id: out[0]?.id ?? null, last_id: out[out.length - 1]?.id ?? null };
}

/** The shape a caller gets: Anthropic's when it sent `anthropic-version` (the Anthropic SDK always does). */
export function listShapeOf(headers: Record<string, string | string[] | undefined>): ListShape {
  return headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

/** The entry of an ibex.yaml model name (it is ibex's, not a provider's), as the list and GET /v1/models/{id} give it. */
export function aliasEntry(id: string, shape: ListShape, now = Date.now()): Record<string, unknown> {
  const created = Math.floor(now / 1000);
  return shape === 'anthropic' ? asAnthropic({ id, created }) : { id, object: 'model', created, owned_by: 'ibex' };
}

function createdSeconds(e: Entry): number {
  if (typeof e.created === 'number') return e.created;
  if (typeof e.created_at === 'string') return Math.floor(Date.parse(e.created_at) / 1000) || 0;
  return 0;
}

function asOpenAI(e: Entry, provider: string): Record<string, unknown> {
  if (e.object === 'model') return e;
  return { id: e.id, object: 'model', created: createdSeconds(e), owned_by: typeof e.owned_by === 'string' ? e.owned_by : provider };
}

function asAnthropic(e: Entry): Record<string, unknown> {
  if (e.type === 'model') return e;
  return { type: 'model', id: e.id, display_name: typeof e.display_name === 'string' ? e.display_name : e.id, created_at: new Date(createdSeconds(e) * 1000).toISOString() };
}
