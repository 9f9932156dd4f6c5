// Type checks of the optional fields a translator reads. A request going to a provider of its own
// protocol is the provider's to judge; a translated one never shows the provider the caller's field,
// only what ibex made of it, so a field of the wrong type must be refused here (400 naming it) rather
// than dropped or defaulted without a word.
import { IbexError } from '../errors.js';

type Body = Record<string, unknown>;

export type FieldKind = 'string' | 'number' | 'positive integer' | 'boolean' | 'object' | 'array' | 'array of strings' | 'string or array of strings';

const CHECKS: Record<FieldKind, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  'positive integer': (v) => Number.isSafeInteger(v) && (v as number) >= 1,
  boolean: (v) => typeof v === 'boolean',
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  'array of strings': (v) => isStringArray(v),
  'string or array of strings': (v) => typeof v === 'string' || isStringArray(v),
};

function isStringArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Throws 400 `invalid_request` naming the first field of `fields` that is set (not undefined or null) and not of its kind. */
export function checkTranslatedFields(body: Body, fields: Readonly<Record<string, FieldKind>>): void {
  for (const name in fields) {
    const kind = fields[name]!;
    const v = body[name];
    if (v === undefined || v === null || CHECKS[kind](v)) continue;
    throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `\`${name}\` must be ${article(kind)} ${kind}.`, param: name });
  }
}

const article = (kind: FieldKind) => (/^[aeiou]/.test(kind) ? 'an' : 'a');

/**
 * `v` when it is a non-empty string, else a 400 naming `param`: what a translation pairs tool calls
 * with their results by (ids) or needs to name a tool, where an empty value would be the provider's
 * 400 about a field the caller never sent.
 */
export function nonEmptyString(v: unknown, param: string): string {
  if (typeof v !== 'string' || v === '') throw new IbexError('IBEX_ERR_INVALID_REQUEST', { message: `${param} must be a non-empty string.`, param });
  return v;
}
