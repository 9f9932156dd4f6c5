// Store records as the admin API sends them: instants as ISO 8601 strings (the CLI's JSON time format,
// isoTimes), and nothing a caller must not see (a PAT's hash never leaves the store).
import { isoTimes } from '../cli/output.js';
import type { Agent, Checkpoint, Directive, PatRecord, Session, Trace } from '../stores/ports.js';

export function agentView(a: Agent, directiveVersion: number | null) {
  const { enabled, ...rest } = a;
  return { ...isoTimes(rest), disabled: !enabled, directiveVersion };
}

/** A PAT's public fields, picked one by one: a field added to PatRecord later is not sent by accident. */
export function patView(p: PatRecord) {
  return isoTimes({
    id: p.id,
    prefix: p.prefix,
    name: p.name,
    agents: p.agents,
    rpm: p.rpm,
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
    revokedAt: p.revokedAt,
  });
}

export const directiveView = (d: Directive) => isoTimes(d);
export const sessionView = (s: Session) => isoTimes(s);
export const checkpointView = (c: Checkpoint) => isoTimes(c);
export const traceView = (t: Trace) => isoTimes(t);
