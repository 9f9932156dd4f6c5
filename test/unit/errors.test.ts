import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, IbexError } from '../../src/errors.js';

const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');

describe('error catalog', () => {
  for (const [name, entry] of Object.entries(ERRORS)) {
    it(`${name} is documented in docs/errors.md with its status and code`, () => {
      const row = doc.split('\n').find((l) => l.includes('`' + name + '`'));
      expect(row, `${name} missing from docs/errors.md`).toBeDefined();
      expect(row).toContain(`| ${entry.status} |`);
      expect(row).toContain('`' + entry.code + '`');
      expect(row).toContain('`' + entry.type + '`');
    });
  }

  it('renders the OpenAI error shape', () => {
    const body = new IbexError('IBEX_ERR_INVALID_REQUEST', { message: 'bad', param: 'messages' }).toBody();
    expect(body).toEqual({ error: { message: 'bad', type: 'invalid_request_error', code: 'invalid_request', param: 'messages' } });
  });

  it('codes are unique per status family', () => {
    const codes = Object.values(ERRORS).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
