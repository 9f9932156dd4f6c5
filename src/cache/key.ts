// The cache key: SHA-256 over everything that decides the reply. The body is the outgoing one (after the
// agent's policies, the directive and alias resolution), so a new directive version or a changed alias
// is a new key; agent, provider and the agent's policy list are part of it, so an entry never crosses
// agents or providers, and a policy change does not replay replies made under the old policies.
import { createHash } from 'node:crypto';

export interface CacheKeyParts {
  agent: string;
  provider: string;
  protocol: string;
  stream: boolean;
  /** A fingerprint of the agent's policies (policiesFingerprint) */
  policies: string;
  /** The serialised outgoing body */
  body: string;
}

export function cacheKey(p: CacheKeyParts): string {
  const h = createHash('sha256');
  // NUL-separated: none of the parts but the body can contain one, and the body comes last
  h.update(`ibex-cache-v1\0${p.agent}\0${p.provider}\0${p.protocol}\0${p.stream ? 's' : 'j'}\0${p.policies}\0`);
  h.update(p.body);
  return h.digest('hex');
}

const fingerprints = new WeakMap<object, string>();

/** A stable text of the agent's policy list, computed once per ibex.yaml version. */
export function policiesFingerprint(policies: readonly unknown[] | undefined): string {
  if (!policies || policies.length === 0) return '';
  let f = fingerprints.get(policies);
  if (f === undefined) {
    f = createHash('sha256').update(JSON.stringify(policies)).digest('hex').slice(0, 16);
    fingerprints.set(policies, f);
  }
  return f;
}
