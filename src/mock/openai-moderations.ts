// POST /v1/moderations: one result per input (shapes from openai/resources/moderations.d.ts).
// Deterministic: a text containing `flag:CATEGORY` (e.g. `flag:violence`) is flagged in that
// category with score 0.99; everything else passes with tiny scores.

import { errorReply, Ids, type Route } from './route.js';

const DEFAULT_MODEL = 'omni-moderation-latest';

export const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/instructions',
  'self-harm/intent',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

// Categories that also apply to images, per CategoryAppliedInputTypes.
const IMAGE_CATEGORIES = new Set(['self-harm', 'self-harm/instructions', 'self-harm/intent', 'sexual', 'violence', 'violence/graphic']);

type Part = { type: 'text'; text: string } | { type: 'image_url' };

function moderationInputs(input: unknown): Part[][] | undefined {
  if (typeof input === 'string') return [[{ type: 'text', text: input }]];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'string')) return (input as string[]).map((text) => [{ type: 'text', text }]);
  // Multi-modal: the whole array is one input.
  const parts: Part[] = [];
  for (const x of input) {
    const p = x as Record<string, unknown> | null;
    if (p?.type === 'text' && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p?.type === 'image_url') parts.push({ type: 'image_url' });
    else return undefined;
  }
  return [parts];
}

export function moderationResult(parts: Part[]) {
  const text = parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n');
  const hasImage = parts.some((p) => p.type === 'image_url');
  const categories: Record<string, boolean> = {};
  const category_scores: Record<string, number> = {};
  const category_applied_input_types: Record<string, string[]> = {};
  let flagged = false;
  for (const c of MODERATION_CATEGORIES) {
    const hit = text.includes('flag:' + c);
    flagged ||= hit;
    categories[c] = hit;
    category_scores[c] = hit ? 0.99 : 0.0001;
    const types = hit ? ['text'] : [];
    if (hit && hasImage && IMAGE_CATEGORIES.has(c)) types.push('image');
    category_applied_input_types[c] = types;
  }
  return { flagged, categories, category_scores, category_applied_input_types };
}

export function moderationsRoute(ids: Ids): Route {
  return {
    body: true,
    model: true,
    validate: ({ body }) =>
      moderationInputs(body.input) ? undefined : errorReply(400, "'input' must be a string, an array of strings, or an array of text/image_url parts.", 'input'),
    reply: ({ body }) => {
      const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
      const results = moderationInputs(body.input)!.map(moderationResult);
      return { kind: 'json', json: JSON.stringify({ id: ids.next('modr-'), model, results }) };
    },
  };
}
