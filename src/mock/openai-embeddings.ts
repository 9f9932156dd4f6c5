// POST /v1/embeddings: deterministic unit vectors derived from each input, so equal inputs
// embed equally across runs and mocks, and different inputs differ. Shapes from
// openai/resources/embeddings.d.ts. `encoding_format: "base64"` sends the little-endian
// float32 bytes base64-encoded (what the official client asks for by default and decodes);
// values are float32-rounded in both encodings so the two decode to the same numbers.

import { createHash } from 'node:crypto';
import { seededRandom } from './faults.js';
import { errorReply, tokensOf, type Route } from './route.js';

const DEFAULT_MODEL = 'text-embedding-3-small';
export const MAX_DIMENSIONS = 3072;

/** OpenAI's native sizes; `dimensions` in the request overrides. */
export function defaultDimensions(model: string): number {
  return model === 'text-embedding-3-large' ? 3072 : 1536;
}

/** The vector of one input (a string or an array of token ids): float32 values, unit length. */
export function embeddingVector(input: string | number[], dimensions: number): number[] {
  const key = typeof input === 'string' ? 's:' + input : 't:' + input.join(',');
  const seed = createHash('sha256').update(key).digest().readUInt32LE(0);
  const random = seededRandom(seed);
  const v = new Array<number>(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    v[i] = random() * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) v[i] = Math.fround(v[i]! * scale);
  return v;
}

export function toBase64(vector: number[]): string {
  const buf = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i]!, i * 4);
  return buf.toString('base64');
}

/** The inputs as a list: a string, a list of strings, a token array, or a list of token arrays. */
export function embeddingInputs(input: unknown): (string | number[])[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'number')) return [input as number[]];
  if (input.every((x) => typeof x === 'string')) return input as string[];
  if (input.every((x) => Array.isArray(x) && x.every((t) => typeof t === 'number'))) return input as number[][];
  return undefined;
}

export function embeddingsRoute(): Route {
  return {
    body: true,
    model: true,
    validate: ({ body }) => {
      const inputs = embeddingInputs(body.input);
      if (!inputs || inputs.some((x) => x.length === 0)) {
        return errorReply(400, "'input' must be a non-empty string, array of strings, or array of token arrays.", 'input');
      }
      const d = body.dimensions;
      if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DIMENSIONS)) {
        return errorReply(400, `'dimensions' must be an integer in [1, ${MAX_DIMENSIONS}].`, 'dimensions');
      }
      const enc = body.encoding_format;
      if (enc !== undefined && enc !== 'float' && enc !== 'base64') {
        return errorReply(400, "'encoding_format' must be 'float' or 'base64'.", 'encoding_format');
      }
      return undefined;
    },
    reply: ({ body }) => {
      const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
      const dimensions = typeof body.dimensions === 'number' ? body.dimensions : defaultDimensions(model);
      const base64 = body.encoding_format === 'base64';
      const inputs = embeddingInputs(body.input)!;
      let tokens = 0;
      const data = inputs.map((input, index) => {
        tokens += typeof input === 'string' ? tokensOf(input) : input.length;
        const v = embeddingVector(input, dimensions);
        return { object: 'embedding', index, embedding: base64 ? toBase64(v) : v };
      });
      return { kind: 'json', json: JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }) };
    },
  };
}
