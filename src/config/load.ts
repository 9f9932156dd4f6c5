// Finding and loading ibex.yaml, and the same typed config built from environment variables when
// there is no file (IBEX_UPSTREAM_URL + OPENAI_API_KEY → one provider named `openai`).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { resolveHome } from '../config.js';
import { UserError } from '../errors.js';
import { registerSecret } from '../log.js';
import { ConfigFileError, type ConfigIssue } from './errors.js';
import { providerKey, readSections } from './schema.js';
import { seal, secretsOf } from './describe.js';
import { YamlReader } from './yaml-reader.js';
import {
  DEFAULT_COOLDOWN_MS,
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_PASSTHROUGH,
  DEFAULT_CIRCUIT,
  DEFAULT_RETRIES_PER_TARGET,
  type IbexFileConfig,
  type ProviderFileConfig,
} from './types.js';

export const CONFIG_FILE_NAME = 'ibex.yaml';

/**
 * `IBEX_CONFIG` when set (even if the file is missing: the user asked for it, so loading it must
 * fail loudly), else `$IBEX_HOME/ibex.yaml` when it exists, else null (environment variables only).
 */
export function findConfigPath(env: NodeJS.ProcessEnv = process.env, home?: string): string | null {
  if (env.IBEX_CONFIG) return resolve(env.IBEX_CONFIG);
  const inHome = join(home ?? resolveHome(env), CONFIG_FILE_NAME);
  return existsSync(inHome) ? inHome : null;
}

/** Reads and validates the file. Throws ConfigFileError (line-located) or UserError (unreadable). */
export function loadIbexYaml(path: string, env: NodeJS.ProcessEnv = process.env): IbexFileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError(`cannot read config file ${path}: ${code}`, 'check IBEX_CONFIG / IBEX_HOME, or remove the file to use environment variables only');
  }
  return parseIbexYaml(text, path, env);
}

/** Validates `text` as the contents of `path` (the watcher and tests use it without a second read). */
export function parseIbexYaml(text: string, path: string, env: NodeJS.ProcessEnv = process.env): IbexFileConfig {
  const lines = new LineCounter();
  // prettyErrors off: the library's pretty message quotes the source line, which could hold a secret
  // pasted by mistake. Positions come from our LineCounter instead.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, keepSourceTokens: true });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      const message = e.code === 'MULTIPLE_DOCS' ? 'only one document is allowed (a second "---" starts another)' : e.message.split('\n')[0];
      return { line, col, path: '', message: `YAML syntax: ${message}` };
    });
    throw new ConfigFileError(path, issues);
  }
  const reader = new YamlReader(doc, lines);
  const sections = readSections(reader, env, () => envProviders(env));
  if (reader.issues.length > 0) {
    const sorted = [...reader.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigFileError(path, sorted);
  }
  return finish({ origin: 'file', path, ...sections });
}

/** The config when there is no file: today's environment variables, unchanged. */
export function defaultsFromEnv(env: NodeJS.ProcessEnv = process.env): IbexFileConfig {
  return finish({
    origin: 'env',
    path: null,
    providers: envProviders(env),
    providersOrigin: 'env',
    models: {},
    retries: { perTarget: DEFAULT_RETRIES_PER_TARGET },
    circuit: { ...DEFAULT_CIRCUIT },
    pricing: {},
    agents: {},
    retention: {},
    passthrough: [...DEFAULT_PASSTHROUGH],
    limits: {},
    timeouts: {},
  });
}

function envProviders(env: NodeJS.ProcessEnv): ProviderFileConfig[] {
  const key = env.OPENAI_API_KEY;
  return [
    {
      name: 'openai',
      kind: 'openai',
      baseUrl: (env.IBEX_UPSTREAM_URL || DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, ''),
      keys: key ? [providerKey('OPENAI_API_KEY', key)] : [],
      keyStrategy: 'round_robin',
      cooldownMs: DEFAULT_COOLDOWN_MS,
      headers: {},
      secretHeaders: [],
      timeouts: {},
    },
  ];
}

function finish(c: IbexFileConfig): IbexFileConfig {
  const sealed = seal(c);
  // Whatever the logger writes afterwards (an upstream error quoting a header, say) is masked too.
  for (const s of secretsOf(sealed)) registerSecret(s);
  return sealed;
}
