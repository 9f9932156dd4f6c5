// Operator actions on agents and PATs. Each one writes the store and then pushes the change on the bus,
// so running gateways react at once; the polling backstop covers a bus that is down or in-process only.
import { generatePat } from '../auth/pat.js';
import type { Agent, AgentPatch, NewAgent, PatRecord, RevocationEvent, SpendLimits, Stores } from '../stores/ports.js';

type OpsStores = Pick<Stores, 'agents' | 'tokens' | 'revocations' | 'bus'>;

export async function createAgent(stores: OpsStores, agent: NewAgent): Promise<Agent> {
  return stores.agents.create(agent);
}

export interface CreatedPat {
  record: PatRecord;
  /** The secret, shown once */
  token: string;
}

export interface PatRequest {
  agents: string[];
  name?: string | null;
  rpm?: number | null;
  expiresAt?: number | null;
  limits?: Partial<SpendLimits>;
}

/**
 * A token store that issues PATs itself instead of storing one made here: the CLI's --url stores,
 * where the gateway makes the secret (this process never sees a hash to store).
 */
export interface PatIssuer {
  issue(opts: PatRequest): Promise<CreatedPat>;
}

export async function createPat(stores: OpsStores, opts: PatRequest): Promise<CreatedPat> {
  const issuer = stores.tokens as Partial<PatIssuer>;
  if (typeof issuer.issue === 'function') return issuer.issue(opts);
  const t = generatePat();
  const record = await stores.tokens.create({
    id: t.id,
    prefix: t.prefix,
    hash: t.hash,
    agents: opts.agents,
    name: opts.name ?? null,
    rpm: opts.rpm ?? null,
    expiresAt: opts.expiresAt ?? null,
    ...opts.limits,
  });
  await stores.bus.publish('pat-created', { hash: t.hash }).catch(() => {});
  return { record, token: t.token };
}

/** Publishes the revocation events appended since `cursor` (the ones this action wrote). */
async function pushRevocations(stores: OpsStores, cursor: number): Promise<RevocationEvent[]> {
  const events = await stores.revocations.since(cursor);
  for (const ev of events) await stores.bus.publish('revocation', ev).catch(() => {});
  return events;
}

export async function revokePat(stores: OpsStores, idOrPrefix: string): Promise<PatRecord | null> {
  const cursor = await stores.revocations.head();
  const record = await stores.tokens.revoke(idOrPrefix);
  if (record) await pushRevocations(stores, cursor);
  return record;
}

export async function setAgentEnabled(stores: OpsStores, name: string, enabled: boolean): Promise<Agent | null> {
  const cursor = await stores.revocations.head();
  const agent = await stores.agents.setEnabled(name, enabled);
  if (agent) {
    if (enabled) await stores.bus.publish('revocation', { kind: 'agent', subject: name, seq: -1, at: Date.now() }).catch(() => {});
    else await pushRevocations(stores, cursor);
  }
  return agent;
}

/**
 * Changes an agent's settings. Running gateways cache agents: the same eviction `agent enable` sends
 * makes them read the new limits at once (the cache's TTL is the backstop when the bus is down).
 */
export async function updateAgent(stores: OpsStores, name: string, patch: AgentPatch): Promise<Agent | null> {
  const agent = await stores.agents.update(name, patch);
  if (agent) await stores.bus.publish('revocation', { kind: 'agent', subject: name, seq: -1, at: Date.now() }).catch(() => {});
  return agent;
}
