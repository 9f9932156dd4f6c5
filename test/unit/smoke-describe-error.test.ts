// `ibex smoke` prints one line per failed step: for a gateway it cannot reach, the socket error the
// openai client nests under "Connection error." (client → fetch → undici), not the bare message.
import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/smoke/run.js';

const nest = (...errs: Error[]): Error => {
  for (let i = 0; i < errs.length - 1; i++) Object.assign(errs[i]!, { cause: errs[i + 1] });
  return errs[0]!;
};

describe('describeError', () => {
  it('names the socket error and the address under a connection error', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18555'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 18555 });
    expect(describeError(nest(new Error('Connection error.'), new TypeError('fetch failed'), refused))).toBe('Connection error. (ECONNREFUSED 127.0.0.1:18555)');
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    expect(describeError(nest(new Error('Connection error.'), new TypeError('fetch failed'), dns))).toBe('Connection error. (ENOTFOUND)');
  });

  it('falls back to the innermost message when no cause has a code', () => {
    expect(describeError(nest(new Error('Connection error.'), new TypeError('fetch failed'), new Error('bad port')))).toBe('Connection error. (bad port)');
    expect(describeError(new Error('plain'))).toBe('plain');
  });

  it('an HTTP error is its status, code and message', () => {
    expect(describeError({ status: 401, error: { code: 'invalid_api_key', message: 'no' } })).toBe('401 invalid_api_key: no');
  });
});
