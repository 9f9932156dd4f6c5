// model-allowlist: the agent may only use the listed models (names as the caller sends them, aliases
// included; `*` globs). Anything else is refused with 400 policy_violation before it is routed.
//   { use: model-allowlist, models: [gpt-4o-mini, "claude-*"] }
import type { PolicyFactory } from '../types.js';
import { allowedKeys, globToRegex, stringList } from './options.js';

const NAME = 'model-allowlist';

export const modelAllowlist: PolicyFactory = (options) => {
  allowedKeys(NAME, options, ['models']);
  const allowed = stringList(NAME, options, 'models', true).map(globToRegex);
  return {
    name: NAME,
    onRequest(req) {
      if (allowed.some((re) => re.test(req.model))) return { action: 'pass' };
      return { action: 'reject', reason: `model "${req.model}" is not allowed for agent ${req.agent}` };
    },
  };
};
