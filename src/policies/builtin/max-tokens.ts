// max-tokens: clamps the reply size the caller asks for to `max`; a request that sets none gets
// `default` when given (Anthropic requests always set one).
//   { use: max-tokens, max: 1024, default: 512 }
import type { PolicyFactory } from '../types.js';
import { allowedKeys, PolicyOptionError, positiveInt } from './options.js';

const NAME = 'max-tokens';

export const maxTokens: PolicyFactory = (options) => {
  allowedKeys(NAME, options, ['max', 'default']);
  const max = positiveInt(NAME, options, 'max', true)!;
  const dflt = positiveInt(NAME, options, 'default');
  if (dflt !== undefined && dflt > max) throw new PolicyOptionError(NAME, `"default" (${dflt}) is above "max" (${max})`);
  return {
    name: NAME,
    onRequest(req) {
      if (req.maxTokens === null) return dflt === undefined ? { action: 'pass' } : { action: 'modify', maxTokens: dflt, note: `set max tokens to ${dflt}` };
      if (req.maxTokens <= max) return { action: 'pass' };
      return { action: 'modify', maxTokens: max, note: `clamped max tokens ${req.maxTokens} → ${max}` };
    },
  };
};
