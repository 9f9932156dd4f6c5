// The built-in policies, by the name ibex.yaml uses in `use:`.
import type { PolicyFactory } from '../types.js';
import { piiRedact } from './pii-redact.js';
import { denyPatterns } from './deny-patterns.js';
import { modelAllowlist } from './model-allowlist.js';
import { maxTokens } from './max-tokens.js';
import { toolGuard } from './tool-guard.js';
import { judge } from './judge.js';

export const BUILTIN_POLICIES: Readonly<Record<string, PolicyFactory>> = {
  'pii-redact': piiRedact,
  'deny-patterns': denyPatterns,
  'model-allowlist': modelAllowlist,
  'max-tokens': maxTokens,
  'tool-guard': toolGuard,
  judge,
};
