import type { Agent } from '../ports.js';
import type { RowDecode } from './decode.js';

export interface AgentRow<Bool> {
  name: string;
  description: string | null;
  rpm: number | null;
  enabled: Bool;
  created_at: number;
}

export const AGENT_COLS = 'name, description, rpm, enabled, created_at';

export const toAgent = <B>(r: AgentRow<B>, d: Pick<RowDecode<unknown, B>, 'bool'>): Agent => ({
  name: r.name,
  description: r.description,
  rpm: r.rpm,
  enabled: d.bool(r.enabled),
  createdAt: r.created_at,
});
