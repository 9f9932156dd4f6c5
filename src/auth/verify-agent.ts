// The agent-verify stage: which agent this request acts as, and whether the PAT may act as it.
//
// `X-Ibex-Agent` picks the agent; it may be omitted when the PAT is bound to exactly one. A PAT
// bound to several with no header is refused with 403 agent_forbidden (not 400): the request body
// is fine, the caller simply has not said which of its permitted identities to use, and clients
// already handle 403 from this stage. The message names the header to send.
import type { Agent } from '../stores/ports.js';
import { IbexError } from '../errors.js';
import type { AgentCache } from './agent-cache.js';
import type { Principal } from './principal.js';

export const AGENT_HEADER = 'x-ibex-agent';

function forbidden(message: string): IbexError {
  return new IbexError('IBEX_ERR_AGENT_FORBIDDEN', { message });
}

export async function verifyAgent(
  principal: Principal,
  requestedAgent: string | undefined,
  agents: Pick<AgentCache, 'get'>,
): Promise<Agent> {
  const requested = requestedAgent?.trim() || undefined;
  let name: string;
  if (requested !== undefined) {
    if (!principal.agents.includes(requested)) {
      throw forbidden(`This API key is not allowed to act as agent "${requested}".`);
    }
    name = requested;
  } else if (principal.agents.length === 1) {
    name = principal.agents[0]!;
  } else if (principal.agents.length === 0) {
    throw forbidden('This API key is not bound to any agent.');
  } else {
    throw forbidden(
      `This API key is bound to several agents (${principal.agents.join(', ')}); send the X-Ibex-Agent header to pick one.`,
    );
  }

  let agent: Agent | null;
  try {
    agent = await agents.get(name);
  } catch (err) {
    throw new IbexError('IBEX_ERR_SERVICE_UNAVAILABLE', { message: 'The agent store did not answer; retry shortly.', cause: err });
  }
  if (!agent) throw forbidden(`Agent "${name}" does not exist.`);
  if (!agent.enabled) throw forbidden(`Agent "${name}" is disabled.`);
  return agent;
}
