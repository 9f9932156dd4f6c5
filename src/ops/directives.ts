// Directive writes: change the store (one transaction each), then announce the agent on the bus so
// every gateway re-reads its deploy state at once (the poll is the backstop for missed pushes).
import type { DeployOptions, Directive, DirectiveDeploy, DirectiveRollout, Stores } from '../stores/ports.js';

type DirectiveStores = Pick<Stores, 'directives' | 'bus'>;

async function announce(stores: DirectiveStores, agent: string, version?: number): Promise<void> {
  const state = await stores.directives.deployState(agent).catch(() => null);
  await stores.bus.publish('directive', { agent, version, revision: state?.revision }).catch(() => {});
}

export async function setDirective(
  stores: DirectiveStores,
  agent: string,
  text: string,
  ifVersion?: number,
  deploy: Omit<DeployOptions, 'ifVersion'> = {},
): Promise<Directive> {
  const d = await stores.directives.deploy(agent, text, { ...deploy, ...(ifVersion === undefined ? {} : { ifVersion }) });
  await announce(stores, agent, d.version);
  return d;
}

export async function rollbackDirective(stores: DirectiveStores, agent: string, to: number): Promise<Directive | null> {
  const old = await stores.directives.get(agent, to);
  if (!old) return null;
  return setDirective(stores, agent, old.text);
}

/** Ends the agent's canary: its version is served to every new session. */
export async function promoteDirective(stores: DirectiveStores, agent: string, rollout?: DirectiveRollout): Promise<DirectiveDeploy> {
  const d = await stores.directives.promote(agent, rollout ? { rollout } : {});
  await announce(stores, agent, d.stable);
  return d;
}

/** Ends the agent's canary: the stable text is served again, as a new version. */
export async function abortDirective(stores: DirectiveStores, agent: string, rollout?: DirectiveRollout): Promise<Directive> {
  const d = await stores.directives.abort(agent, rollout ? { rollout } : {});
  await announce(stores, agent, d.version);
  return d;
}

export async function setPromptCache(stores: DirectiveStores, agent: string, on: boolean): Promise<DirectiveDeploy> {
  const d = await stores.directives.setPromptCache(agent, on);
  await announce(stores, agent);
  return d;
}
