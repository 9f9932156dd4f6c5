// One wording for "that agent does not exist", whichever command names it (as an argument or as an
// `--agent` filter): a filter on an unknown agent is a typo to report, not an empty list.
import { UserError } from '../errors.js';
import type { Agent, AgentStore } from '../stores/ports.js';

export function noSuchAgent(name: string): UserError {
  return new UserError(`no agent named "${name}"`, `see \`ibex agent list\`, or create it with \`ibex agent create ${name}\``);
}

/** The agent, or the user error every command gives for an unknown one. */
export async function requireAgent(stores: { agents: Pick<AgentStore, 'get'> }, name: string): Promise<Agent> {
  const agent = await stores.agents.get(name);
  if (!agent) throw noSuchAgent(name);
  return agent;
}
