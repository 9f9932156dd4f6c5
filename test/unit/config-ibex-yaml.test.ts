// ibex.yaml: the CONTRACT example, located errors, ${ENV} references, masking, routing, env defaults.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { redact } from '../../src/log.js';
import {
  ConfigFileError,
  defaultsFromEnv,
  describe as describeConfig,
  findConfigPath,
  loadIbexYaml,
  parseIbexYaml,
  resolveModel,
  type IbexFileConfig,
} from '../../src/config/ibex-yaml.js';

// The example of CONTRACT.md, verbatim.
const CONTRACT_EXAMPLE = `providers:
  openai:    { kind: openai, baseUrl: https://api.openai.com/v1, keys: ["\${OPENAI_API_KEY}"] }
  backup:    { kind: openai, baseUrl: http://127.0.0.1:9001/v1, keys: ["\${K1}", "\${K2}"], keyStrategy: round_robin, cooldown: 60s }
  claude:    { kind: anthropic, baseUrl: https://api.anthropic.com, keys: ["\${ANTHROPIC_API_KEY}"] }
  azure:     { kind: azure-openai, baseUrl: https://NAME.openai.azure.com, apiVersion: "2024-10-21", keys: ["\${AZURE_KEY}"] }
models:                                   # public name or alias → ordered targets (fallback chain)
  gpt-4o-mini: [openai/gpt-4o-mini, backup/gpt-4o-mini]
  fast: openai/gpt-4o-mini
  claude-sonnet: claude/claude-sonnet-4-5
retries: { perTarget: 2 }
pricing: { "openai/gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.60 } }   # USD per 1M tokens
agents:
  support: { policies: [ { use: pii-redact, on: [request, response] }, { use: deny-patterns, patterns: ["(?i)password"] } ], cache: { ttl: 10m } }
retention: { traces: 30d, sessions: 90d }
`;

const ENV = {
  OPENAI_API_KEY: 'sk-proj-openai-secret-0001',
  K1: 'k1-backup-secret-value-0002',
  K2: 'k2-backup-secret-value-0003',
  ANTHROPIC_API_KEY: 'sk-ant-anthropic-secret-0004',
  AZURE_KEY: 'azure0secret0value0005',
};
const SECRETS = Object.values(ENV);

/** The ConfigFileError `text` raises (fails the test when it loads). */
function refuse(text: string, env: NodeJS.ProcessEnv = ENV): ConfigFileError {
  try {
    parseIbexYaml(text, '/etc/ibex/ibex.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    return err as ConfigFileError;
  }
  throw new Error('the file was accepted');
}

const tmp = mkdtempSync(join(tmpdir(), 'ibex-yaml-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the CONTRACT example', () => {
  const c = parseIbexYaml(CONTRACT_EXAMPLE, '/etc/ibex/ibex.yaml', ENV);

  it('parses into typed providers with resolved keys and defaults', () => {
    expect(c.origin).toBe('file');
    expect(c.providers.map((p) => [p.name, p.kind, p.baseUrl])).toEqual([
      ['openai', 'openai', 'https://api.openai.com/v1'],
      ['backup', 'openai', 'http://127.0.0.1:9001/v1'],
      ['claude', 'anthropic', 'https://api.anthropic.com'],
      ['azure', 'azure-openai', 'https://NAME.openai.azure.com'],
    ]);
    const backup = c.providers[1]!;
    expect(backup.keys.map((k) => [k.env, k.value])).toEqual([
      ['K1', ENV.K1],
      ['K2', ENV.K2],
    ]);
    expect(backup.keyStrategy).toBe('round_robin');
    expect(backup.cooldownMs).toBe(60_000);
    expect(c.providers[3]!.apiVersion).toBe('2024-10-21');
    expect(c.providers[0]!.cooldownMs).toBe(60_000);
  });

  it('reads models, retries, pricing, agents and retention', () => {
    expect(c.models['gpt-4o-mini']).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini' },
      { provider: 'backup', model: 'gpt-4o-mini' },
    ]);
    expect(c.models.fast).toEqual([{ provider: 'openai', model: 'gpt-4o-mini' }]);
    expect(c.retries.perTarget).toBe(2);
    expect(c.pricing['openai/gpt-4o-mini']).toEqual({ input: 0.15, cachedInput: 0.075, output: 0.6 });
    expect(c.agents.support).toEqual({
      policies: [
        { use: 'pii-redact', options: { on: ['request', 'response'] } },
        { use: 'deny-patterns', options: { patterns: ['(?i)password'] } },
      ],
      cache: { ttlMs: 600_000 },
    });
    expect(c.retention).toEqual({ tracesMs: 30 * 86_400_000, sessionsMs: 90 * 86_400_000 });
    expect(c.passthrough).toEqual(['/v1/audio', '/v1/images']);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.providers[1]!.keys)).toBe(true);
    expect(Object.isFrozen(c.agents.support!.policies[0]!.options)).toBe(true);
    expect(() => (c.models['gpt-4o-mini'] as unknown as unknown[]).push('x')).toThrow(TypeError);
  });

  it('loads from a file the same way', () => {
    const path = join(tmp, 'contract.yaml');
    writeFileSync(path, CONTRACT_EXAMPLE);
    const fromFile = loadIbexYaml(path, ENV);
    expect(fromFile.path).toBe(path);
    expect(describeConfig(fromFile)).toEqual({ ...describeConfig(c), path });
  });
});

describe('the issue 12 settings and provider options', () => {
  it('reads sizes, durations, passthrough, cors, headers and per-provider timeouts', () => {
    const c = parseIbexYaml(
      `providers:
  groq:
    kind: openai
    baseUrl: https://api.groq.com/openai/v1/
    keys: ["\${K1}", "\${K2}"]
    keyStrategy: priority
    cooldown: 0s
    headers: { X-Title: ibex, Authorization-Extra: "Bearer \${K1}" }
    timeouts: { connect: 2s, ttfb: 30s, idle: 500ms }
    promptCache: true
    maxTokensField: max_tokens
passthrough: [/v1/audio, /v1/files/]
cors: { origins: ["https://app.example.com", "*"] }
limits: { body: 32MiB, response: 512KB }
timeouts: { ttfb: 600s, idle: 300s }
`,
      'ibex.yaml',
      ENV,
    );
    const p = c.providers[0]!;
    expect(p.baseUrl).toBe('https://api.groq.com/openai/v1');
    expect(p.keyStrategy).toBe('priority');
    expect(p.cooldownMs).toBe(0);
    expect(p.headers).toEqual({ 'X-Title': 'ibex', 'Authorization-Extra': `Bearer ${ENV.K1}` });
    expect(p.secretHeaders).toEqual(['Authorization-Extra']);
    expect(p.timeouts).toEqual({ connectMs: 2000, ttfbMs: 30_000, idleMs: 500 });
    expect(p.promptCache).toBe(true);
    expect(p.maxTokensField).toBe('max_tokens');
    expect(c.passthrough).toEqual(['/v1/audio', '/v1/files']);
    expect(c.cors).toEqual({ origins: ['https://app.example.com', '*'] });
    expect(c.limits).toEqual({ bodyBytes: 32 * 1024 * 1024, responseBytes: 512_000 });
    expect(c.timeouts).toEqual({ ttfbMs: 600_000, idleMs: 300_000 });
    // Unset issue-12 settings stay undefined, so flag > env > file > default can apply.
    expect(parseIbexYaml('agents: { a: {} }', 'ibex.yaml', {}).limits).toEqual({});
  });

  it('defaults baseUrl by kind and leaves a keyless provider (Ollama, vLLM) valid', () => {
    const c = parseIbexYaml(
      'providers:\n  oai: { kind: openai }\n  ant: { kind: anthropic }\n  local: { kind: openai, baseUrl: "http://127.0.0.1:11434/v1" }\n',
      'ibex.yaml',
      {},
    );
    expect(c.providers.map((p) => p.baseUrl)).toEqual(['https://api.openai.com/v1', 'https://api.anthropic.com', 'http://127.0.0.1:11434/v1']);
    expect(c.providers[2]!.keys).toEqual([]);
  });

  it('an empty file, or one without providers:, keeps the environment provider', () => {
    const env = { IBEX_UPSTREAM_URL: 'http://127.0.0.1:9999/v1', OPENAI_API_KEY: ENV.OPENAI_API_KEY };
    for (const text of ['', '# nothing yet\n', 'agents:\n  support: { cache: { ttl: 5m } }\n']) {
      const c = parseIbexYaml(text, 'ibex.yaml', env);
      expect(c.providers.map((p) => [p.name, p.baseUrl, p.keys[0]?.value])).toEqual([['openai', 'http://127.0.0.1:9999/v1', ENV.OPENAI_API_KEY]]);
    }
    // Models may then target that implicit provider.
    expect(parseIbexYaml('models: { fast: openai/gpt-4o-mini }', 'ibex.yaml', env).models.fast).toEqual([{ provider: 'openai', model: 'gpt-4o-mini' }]);
  });
});

describe('errors name the file, line, column and key path', () => {
  it('YAML syntax errors', () => {
    const e = refuse('providers:\n  openai: { kind: openai\nmodels: {}\n');
    expect(e.line).toBeGreaterThanOrEqual(2);
    expect(e.message).toMatch(/^\/etc\/ibex\/ibex\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('a second document', () => {
    const e = refuse('providers: { a: { kind: openai } }\n---\nmodels: {}\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain('only one document');
  });

  it('aliases are followed, alias bombs refused', () => {
    const c = parseIbexYaml('providers:\n  a: &common { kind: openai, cooldown: 5s }\n  b: *common\n', 'ibex.yaml', {});
    expect(c.providers.map((p) => [p.name, p.cooldownMs])).toEqual([
      ['a', 5000],
      ['b', 5000],
    ]);
    const layers = ['o1: &l1 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'];
    for (let i = 2; i <= 4; i++) layers.push(`o${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const bomb = refuse(`agents:\n  s:\n    policies:\n      - use: x\n${layers.map((l) => `        ${l}\n`).join('')}`);
    expect(bomb.message).toContain('too many aliases');
  });

  it('duplicate keys', () => {
    const e = refuse('providers:\n  a: { kind: openai }\n  a: { kind: anthropic }\n');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/unique/i);
  });

  it('an unknown top-level key, with did you mean', () => {
    const e = refuse('provider:\n  a: { kind: openai }\n');
    expect([e.line, e.col, e.path]).toEqual([1, 1, 'provider']);
    expect(e.message).toContain('/etc/ibex/ibex.yaml:1:1: provider: unknown key "provider" (did you mean "providers"?)');
  });

  it('an unknown provider key, with did you mean', () => {
    const e = refuse('providers:\n  a:\n    kind: openai\n    baseURL: http://x\n');
    expect([e.line, e.col, e.path]).toEqual([4, 5, 'providers.a.baseURL']);
    expect(e.message).toContain('did you mean "baseUrl"?');
  });

  it('a wrong enum value, with did you mean', () => {
    const e = refuse('providers:\n  a:\n    kind: opnai\n');
    expect([e.line, e.col, e.path]).toEqual([3, 11, 'providers.a.kind']);
    expect(e.message).toContain('"opnai" is not one of openai, azure-openai, anthropic (did you mean "openai"?)');
    expect(refuse('providers:\n  a: { kind: openai, keyStrategy: random }\n').path).toBe('providers.a.keyStrategy');
  });

  it('a missing required key is reported at its mapping', () => {
    const e = refuse('models: {}\nproviders:\n  a:\n    baseUrl: http://x\n');
    expect([e.line, e.path]).toEqual([4, 'providers.a']);
    expect(e.message).toContain('missing "kind"');
  });

  it('durations without a unit and bad sizes', () => {
    const e = refuse('providers:\n  a:\n    kind: openai\n    cooldown: 60\n');
    expect([e.line, e.path]).toEqual([4, 'providers.a.cooldown']);
    expect(e.message).toContain('write "60s"');
    const s = refuse('limits:\n  body: 32 megs\n');
    expect([s.line, s.path]).toEqual([2, 'limits.body']);
  });

  it('an unknown provider in a model target, at the item of the list', () => {
    const e = refuse('providers:\n  openai: { kind: openai }\n  backup: { kind: openai }\nmodels:\n  m:\n    - openai/x\n    - bakup/x\n');
    expect([e.line, e.col, e.path]).toEqual([7, 7, 'models.m[1]']);
    expect(e.message).toContain('unknown provider "bakup" (did you mean "backup"?)');
    const slashless = refuse('providers:\n  openai: { kind: openai }\nmodels:\n  fast: gpt-4o-mini\n');
    expect([slashless.line, slashless.path]).toEqual([4, 'models.fast']);
    expect(slashless.message).toContain('is not provider/model');
  });

  it('kind-specific rules: azure needs a baseUrl, apiVersion is azure-only', () => {
    expect(refuse('providers:\n  az: { kind: azure-openai }\n').message).toContain('missing "baseUrl"');
    const e = refuse('providers:\n  a:\n    kind: openai\n    apiVersion: "2024-10-21"\n');
    expect([e.line, e.path]).toEqual([4, 'providers.a.apiVersion']);
  });

  it('maxTokensField: one of the two chat fields, and not for Anthropic (whose field is max_tokens)', () => {
    const bad = refuse('providers:\n  a:\n    kind: openai\n    maxTokensField: max_output_tokens\n');
    expect([bad.line, bad.path]).toEqual([4, 'providers.a.maxTokensField']);
    expect(bad.message).toContain('max_completion_tokens');
    const claude = refuse('providers:\n  c:\n    kind: anthropic\n    maxTokensField: max_tokens\n');
    expect([claude.line, claude.path]).toEqual([4, 'providers.c.maxTokensField']);
    expect(claude.message).toContain('only applies to kinds openai and azure-openai');
    const az = parseIbexYaml('providers:\n  az: { kind: azure-openai, baseUrl: "https://n.openai.azure.com", maxTokensField: max_completion_tokens }\n', 'ibex.yaml', ENV);
    expect(az.providers[0]!.maxTokensField).toBe('max_completion_tokens');
    // Unset: absent (the provider sends max_completion_tokens)
    expect(parseIbexYaml('providers:\n  a: { kind: openai }\n', 'ibex.yaml', ENV).providers[0]).not.toHaveProperty('maxTokensField');
  });

  it('pricing keys and policies', () => {
    const p = refuse('providers: { a: { kind: openai } }\npricing:\n  "b/x": { input: 1, output: 2 }\n');
    expect([p.line, p.path]).toEqual([3, 'pricing["b/x"]']);
    const q = refuse('providers: { a: { kind: openai } }\npricing:\n  "a/x": { input: -1, output: 2 }\n');
    expect(q.path).toBe('pricing["a/x"].input');
    const u = refuse('agents:\n  support:\n    policies:\n      - { on: [request] }\n');
    expect([u.line, u.path]).toEqual([4, 'agents.support.policies[0]']);
    expect(u.message).toContain('missing "use"');
  });

  it('reports every problem at once, in line order, and is a UserError', () => {
    const e = refuse('providers:\n  a: { kind: nope }\nmodels:\n  x: q/y\nretries: { perTarget: 99 }\n');
    expect(e).toBeInstanceOf(UserError);
    expect(e.issues.map((i) => i.line)).toEqual([2, 4, 5]);
    expect(e.message.split('\n')).toHaveLength(3);
    expect(e.oneLine()).toMatch(/^\/etc\/ibex\/ibex\.yaml:2:\d+: providers\.a\.kind: .* \(\+2 more\)$/);
  });

  it('an unreadable file is a UserError naming the path', () => {
    expect(() => loadIbexYaml(join(tmp, 'nope.yaml'), ENV)).toThrow(/cannot read config file .*nope\.yaml: ENOENT/);
  });
});

describe('${ENV} references and secrets', () => {
  it('a missing variable names it and the line', () => {
    const e = refuse('providers:\n  a:\n    kind: openai\n    keys:\n      - "${OPENAI_API_KEY}"\n      - "${NOT_SET_ANYWHERE}"\n');
    expect([e.line, e.path]).toEqual([6, 'providers.a.keys[1]']);
    expect(e.message).toContain('environment variable NOT_SET_ANYWHERE is not set');
    expect(refuse('providers: { a: { kind: openai, keys: ["${EMPTY}"] } }', { EMPTY: '' }).message).toContain('EMPTY is not set');
  });

  it('references resolve in baseUrl and header values too', () => {
    const c = parseIbexYaml('providers:\n  a: { kind: openai, baseUrl: "${BASE}/v1", headers: { X-Org: "${ORG}" } }\n', 'ibex.yaml', {
      BASE: 'http://127.0.0.1:7000',
      ORG: 'org-123',
    });
    expect(c.providers[0]!.baseUrl).toBe('http://127.0.0.1:7000/v1');
    expect(c.providers[0]!.headers['X-Org']).toBe('org-123');
    expect(refuse('providers:\n  a: { kind: openai, baseUrl: "${NO_BASE}/v1" }\n').message).toContain('NO_BASE is not set');
    expect(refuse('providers:\n  a: { kind: openai, headers: { X-Org: "${ORG" } }\n').message).toContain('malformed reference');
  });

  it('a literal secret in keys is refused without echoing it', () => {
    const literal = 'sk-proj-ThisIsALiteralSecretValue9876';
    const e = refuse(`providers:\n  a:\n    kind: openai\n    keys: ["${literal}"]\n`);
    expect([e.line, e.path]).toEqual([4, 'providers.a.keys[0]']);
    expect(e.message).toMatch(/secrets go in environment variables/);
    expect(e.message).not.toContain(literal);
    expect(e.message).toContain('sk-…9876');
    // Text around a reference is not a reference either.
    expect(refuse('providers:\n  a: { kind: openai, keys: ["Bearer ${K1}"] }\n').message).toContain('one whole reference');
  });

  it('a literal secret in a credential header is refused', () => {
    const e = refuse('providers:\n  a:\n    kind: openai\n    headers:\n      Authorization: Bearer sk-literal-secret-000111\n');
    expect([e.line, e.path]).toEqual([5, 'providers.a.headers.Authorization']);
    expect(e.message).not.toContain('sk-literal-secret-000111');
    expect(e.message).toContain('secrets go in environment variables');
  });

  it('secrets never appear in JSON, inspect, describe() or spread', () => {
    const c = parseIbexYaml(
      CONTRACT_EXAMPLE.replace('keys: ["${OPENAI_API_KEY}"]', 'keys: ["${OPENAI_API_KEY}"], headers: { api-key: "${K2}", X-Title: plain-title }'),
      'ibex.yaml',
      ENV,
    );
    const views = [
      JSON.stringify(c),
      JSON.stringify(c.providers),
      JSON.stringify(c.providers[0]),
      JSON.stringify(c.providers[0]!.keys),
      JSON.stringify(c.providers[0]!.headers),
      JSON.stringify({ ...c.providers[0]!.keys[0] }),
      JSON.stringify(describeConfig(c)),
      inspect(c, { depth: null }),
      inspect(c.providers[0], { depth: null }),
      inspect(c.providers[0]!.keys[0], { depth: null }),
    ];
    for (const view of views) for (const s of SECRETS) expect(view).not.toContain(s);
    const described = describeConfig(c) as { providers: { keys: unknown; headers: Record<string, string> }[] };
    expect(described.providers[0]!.keys).toEqual([{ env: 'OPENAI_API_KEY', masked: 'sk-…0001' }]);
    expect(described.providers[0]!.headers).toEqual({ 'api-key': 'k2-…0003', 'X-Title': 'plain-title' });
    expect(JSON.parse(JSON.stringify(c)).providers[1].keys).toEqual([
      { env: 'K1', masked: 'k1-…0002' },
      { env: 'K2', masked: 'k2-…0003' },
    ]);
    // …while the gateway can still read them.
    expect(c.providers[0]!.keys[0]!.value).toBe(ENV.OPENAI_API_KEY);
    expect(c.providers[0]!.headers['api-key']).toBe(ENV.K2);
  });

  it('loaded secrets are masked by the logger whatever their shape', () => {
    const odd = 'zz-unusual-shape-secret-42';
    parseIbexYaml('providers: { a: { kind: openai, keys: ["${ODD}"] } }', 'ibex.yaml', { ODD: odd });
    expect(redact(`upstream said: bad key ${odd}`)).not.toContain(odd);
  });
});

describe('resolveModel', () => {
  const c = parseIbexYaml(
    `${CONTRACT_EXAMPLE}`.replace('providers:\n', 'providers:\n  router: { kind: openai, baseUrl: https://openrouter.ai/api/v1 }\n') +
      '\n',
    'ibex.yaml',
    ENV,
  );
  const withPrefixModel = parseIbexYaml(
    'providers:\n  router: { kind: openai, baseUrl: https://openrouter.ai/api/v1 }\nmodels:\n  llama: router/meta-llama/llama-3.1-8b\n',
    'ibex.yaml',
    {},
  );

  it('an alias or public name → its targets in order', () => {
    expect(resolveModel(c, 'gpt-4o-mini')).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini' },
      { provider: 'backup', model: 'gpt-4o-mini' },
    ]);
    expect(resolveModel(c, 'claude-sonnet')).toEqual([{ provider: 'claude', model: 'claude-sonnet-4-5' }]);
    expect(resolveModel(withPrefixModel, 'llama')).toEqual([{ provider: 'router', model: 'meta-llama/llama-3.1-8b' }]);
  });

  it('provider/model with a configured provider → that provider', () => {
    expect(resolveModel(c, 'claude/claude-haiku-4-5')).toEqual([{ provider: 'claude', model: 'claude-haiku-4-5' }]);
    expect(resolveModel(c, 'backup/some/nested-model')).toEqual([{ provider: 'backup', model: 'some/nested-model' }]);
  });

  it('anything else → the first provider, the name untouched', () => {
    expect(c.providers[0]!.name).toBe('router');
    expect(resolveModel(c, 'gpt-4.1')).toEqual([{ provider: 'router', model: 'gpt-4.1' }]);
    expect(resolveModel(c, 'meta-llama/llama-3')).toEqual([{ provider: 'router', model: 'meta-llama/llama-3' }]);
    expect(resolveModel(c, 'constructor')).toEqual([{ provider: 'router', model: 'constructor' }]);
    expect(resolveModel(c, '__proto__')).toEqual([{ provider: 'router', model: '__proto__' }]);
  });

  it('with no file: everything goes to the env provider', () => {
    expect(resolveModel(defaultsFromEnv({}), 'gpt-4o')).toEqual([{ provider: 'openai', model: 'gpt-4o' }]);
    expect(resolveModel(defaultsFromEnv({}), 'openai/gpt-4o')).toEqual([{ provider: 'openai', model: 'gpt-4o' }]);
  });
});

describe('no file → environment defaults', () => {
  it('one openai provider from IBEX_UPSTREAM_URL and OPENAI_API_KEY', () => {
    const c: IbexFileConfig = defaultsFromEnv({ IBEX_UPSTREAM_URL: 'http://127.0.0.1:8789/v1/', OPENAI_API_KEY: ENV.OPENAI_API_KEY });
    expect(c.origin).toBe('env');
    expect(c.path).toBeNull();
    expect(c.providers).toHaveLength(1);
    const p = c.providers[0]!;
    expect([p.name, p.kind, p.baseUrl, p.keyStrategy, p.cooldownMs]).toEqual(['openai', 'openai', 'http://127.0.0.1:8789/v1', 'round_robin', 60_000]);
    expect(p.keys.map((k) => k.value)).toEqual([ENV.OPENAI_API_KEY]);
    expect(JSON.stringify(c)).not.toContain(ENV.OPENAI_API_KEY);
    expect(c.retries.perTarget).toBe(2);
    expect(c.models).toEqual({});
    expect(Object.isFrozen(c.providers[0])).toBe(true);
  });

  it('defaults to api.openai.com and may have no key', () => {
    const p = defaultsFromEnv({}).providers[0]!;
    expect(p.baseUrl).toBe('https://api.openai.com/v1');
    expect(p.keys).toEqual([]);
  });

  it('findConfigPath: IBEX_CONFIG, else $IBEX_HOME/ibex.yaml when it exists, else null', () => {
    const home = join(tmp, 'home');
    mkdirSync(home, { recursive: true });
    expect(findConfigPath({ IBEX_HOME: home })).toBeNull();
    expect(findConfigPath({}, home)).toBeNull();
    writeFileSync(join(home, 'ibex.yaml'), '');
    expect(findConfigPath({ IBEX_HOME: home })).toBe(join(home, 'ibex.yaml'));
    expect(findConfigPath({}, home)).toBe(join(home, 'ibex.yaml'));
    // An explicit IBEX_CONFIG wins, even when missing (loading it then fails loudly).
    expect(findConfigPath({ IBEX_CONFIG: join(tmp, 'elsewhere.yaml'), IBEX_HOME: home })).toBe(join(tmp, 'elsewhere.yaml'));
  });
});
