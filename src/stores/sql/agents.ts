import type { Agent, ContentMode } from '../ports.js';
import type { RowDecode } from './decode.js';

export interface AgentRow<Bool> {
  name: string;
  description: string | null;
  rpm: number | null;
  enabled: Bool;
  created_at: number;
  /** Absent in rows built before insert (the column's default is 'full') */
  content_mode?: string;
}

export const AGENT_COLS = 'name, description, rpm, enabled, created_at';
/** What reads select: the inserted columns plus those with a default (content_mode, issue 15). */
export const AGENT_READ_COLS = `${AGENT_COLS}, content_mode`;

export const toAgent = <B>(r: AgentRow<B>, d: Pick<RowDecode<unknown, B>, 'bool'>): Agent => ({
  name: r.name,
  description: r.description,
  rpm: r.rpm,
  enabled: d.bool(r.enabled),
  createdAt: r.created_at,
  contentMode: (r.content_mode ?? 'full') as ContentMode,
});
