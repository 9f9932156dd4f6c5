import type { Directive } from '../ports.js';

export interface DirectiveRow {
  agent: string;
  version: number;
  text: string;
  sha256: string;
  created_at: number;
}

export const DIRECTIVE_COLS = 'agent, version, text, sha256, created_at';

export const toDirective = (r: DirectiveRow): Directive => ({
  agent: r.agent,
  version: r.version,
  text: r.text,
  sha256: r.sha256,
  createdAt: r.created_at,
});
