// The mock's structured-output trigger (`json:{…}`): the reply text is exactly the JSON that follows.
import { describe, expect, it } from 'vitest';
import { jsonReplyText } from '../../src/mock/tool-trigger.js';

describe('jsonReplyText', () => {
  it('returns the text after json:, trimmed, and nothing for other texts', () => {
    expect(jsonReplyText('json:{"a":1}')).toBe('{"a":1}');
    expect(jsonReplyText('  json: {"b":[2]}  ')).toBe('{"b":[2]}');
    expect(jsonReplyText('hello json:{}')).toBeUndefined();
    expect(jsonReplyText(undefined)).toBeUndefined();
  });
});
