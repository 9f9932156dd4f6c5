import type { Agent } from '../ports.js';
import type { RowDecode } from './decode.js';
import { limitCols, limitsFromRow } from './limits.js';

export interface AgentRow<Bool> {
  name: string;
  description: string | null;
  rpm: number | null;
  enabled: Bool;
  created_at: number;
  [limit: string]: unknown;
}

/** The columns an agent is created with (its limits are set by an UPDATE in the same transaction). */
export const AGENT_COLS = 'name, description, rpm, enabled, created_at';
/** The columns an agent is read with. */
export const AGENT_READ_COLS = `${AGENT_COLS}, ${limitCols()}`;

export const toAgent = <B>(r: AgentRow<B>, d: Pick<RowDecode<unknown, B>, 'bool'>): Agent => ({
  name: r.name,
  description: r.description,
  rpm: r.rpm,
  enabled: d.bool(r.enabled),
  createdAt: r.created_at,
  ...limitsFromRow(r),
});
