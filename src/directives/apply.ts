// `ibex directive apply -f DIR`: directives kept in a repository, one file per agent (`AGENT.md`),
// applied from CI. A version is created only where the file's text differs from the agent's latest
// version, so applying the same folder twice changes nothing the second time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Stores } from '../stores/ports.js';
import { diffCounts } from './diff.js';

export type ApplyAction = 'create' | 'update' | 'unchanged';

export interface ApplyStep {
  agent: string;
  file: string;
  action: ApplyAction;
  /** The latest version before (0 = none) */
  from: number;
  /** The version written (after apply) or to be written (dry run); null when unchanged */
  to: number | null;
  added: number;
  removed: number;
}

export interface DirectiveFile {
  agent: string;
  file: string;
  text: string;
}

/** Thrown with every problem found, before anything is written. */
export class ApplyError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ApplyError';
  }
}

/** The `*.md` files of `dir`, in name order; the agent is the file name without `.md`. */
export function readDirectiveFiles(dir: string): DirectiveFile[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ApplyError([`${dir} is not a directory`]);
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof ApplyError) throw err;
    throw new ApplyError([`cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return names
    .filter((n) => n.endsWith('.md'))
    .sort()
    .map((n) => ({ agent: basename(n, '.md'), file: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
}

/**
 * Texts are compared without their trailing newlines: editors add one, `--text` has none, and
 * `ibex directive get AGENT > AGENT.md` must apply as "unchanged".
 */
export const sameText = (a: string, b: string) => a.replace(/\n+$/, '') === b.replace(/\n+$/, '');

/** What applying `files` would do. Throws ApplyError (nothing written) for unknown agents or empty files. */
export async function planApply(stores: Pick<Stores, 'agents' | 'directives'>, files: DirectiveFile[]): Promise<ApplyStep[]> {
  const problems: string[] = [];
  const steps: ApplyStep[] = [];
  for (const f of files) {
    if (f.text.trim() === '') problems.push(`${f.file} is empty`);
    if (!(await stores.agents.get(f.agent))) problems.push(`${f.file}: no agent named "${f.agent}" (create it with \`ibex agent create ${f.agent}\`)`);
    const latest = await stores.directives.current(f.agent);
    const from = latest?.version ?? 0;
    if (latest && sameText(latest.text, f.text)) {
      steps.push({ agent: f.agent, file: f.file, action: 'unchanged', from, to: null, added: 0, removed: 0 });
    } else {
      steps.push({ agent: f.agent, file: f.file, action: latest ? 'update' : 'create', from, to: from + 1, ...diffCounts(latest?.text ?? '', f.text) });
    }
  }
  if (problems.length) throw new ApplyError(problems);
  return steps;
}

/** The plan as printed: one line per agent, then a summary. */
export function formatPlan(steps: ApplyStep[], dryRun: boolean): string {
  const lines = steps.map((s) => {
    if (s.action === 'unchanged') return `  = ${s.agent}: unchanged (v${s.from})`;
    const change = `+${s.added} -${s.removed} lines`;
    return s.action === 'create' ? `  + ${s.agent}: new directive → v${s.to} (${change})` : `  ~ ${s.agent}: v${s.from} → v${s.to} (${change})`;
  });
  const changed = steps.filter((s) => s.action !== 'unchanged').length;
  const summary = dryRun
    ? `Plan: ${changed} to apply, ${steps.length - changed} unchanged (dry run: nothing changed).`
    : `Applied: ${changed} changed, ${steps.length - changed} unchanged.`;
  return [...lines, summary].join('\n') + '\n';
}
