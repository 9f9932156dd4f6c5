import type { Agent, ContentMode } from '../ports.js';
import type { RowDecode } from './decode.js';
import { limitCols, limitsFromRow } from './limits.js';

export interface AgentRow<Bool> {
  name: string;
  description: string | null;
  rpm: number | null;
  enabled: Bool;
  created_at: number;
  /** Absent in rows built before insert (the column's default is 'full') */
  content_mode?: string;
  [limit: string]: unknown;
}

/** The columns an agent is created with (its limits are set by an UPDATE in the same transaction). */
export const AGENT_COLS = 'name, description, rpm, enabled, created_at';
/** The columns an agent is read with: the inserted ones, content_mode (issue 15) and the limits (issue 14). */
export const AGENT_READ_COLS = `${AGENT_COLS}, content_mode, ${limitCols()}`;

export const toAgent = <B>(r: AgentRow<B>, d: Pick<RowDecode<unknown, B>, 'bool'>): Agent => ({
  name: r.name,
  description: r.description,
  rpm: r.rpm,
  enabled: d.bool(r.enabled),
  createdAt: r.created_at,
  contentMode: (r.content_mode ?? 'full') as ContentMode,
  ...limitsFromRow(r),
});
