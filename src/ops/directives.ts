// Directive writes: append the next immutable version, then announce it on the bus.
import type { Directive, Stores } from '../stores/ports.js';

export async function setDirective(
  stores: Pick<Stores, 'directives' | 'bus'>,
  agent: string,
  text: string,
  ifVersion?: number,
): Promise<Directive> {
  const d = await stores.directives.append(agent, text, ifVersion === undefined ? {} : { ifVersion });
  await stores.bus.publish('directive', { agent: d.agent, version: d.version }).catch(() => {});
  return d;
}

export async function rollbackDirective(stores: Pick<Stores, 'directives' | 'bus'>, agent: string, to: number): Promise<Directive | null> {
  const old = await stores.directives.get(agent, to);
  if (!old) return null;
  return setDirective(stores, agent, old.text);
}
