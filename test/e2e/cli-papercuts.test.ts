// What a new operator trips over first, checked against the built CLI (issue 11, item 9): a failed
// `serve` must end (exit 1, one clean error), store problems read the same in every command, config
// values are checked when set and secrets masked when shown, one JSON time format, `| head` is quiet,
// and the small things (stdin directives, revoking twice, unknown agents, LICENSE, README).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startTestGateway } from '../helpers/gateway.js';
import { describeWithPostgres, POSTGRES_ADMIN_URL } from '../helpers/postgres.js';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';

let home: string;
const run = (args: string[], opts: { env?: Record<string, string>; input?: string; timeout?: number } = {}) =>
  execa('node', [BIN, ...args], {
    env: { IBEX_HOME: home, IBEX_LOG_LEVEL: 'warn', ...opts.env },
    input: opts.input,
    reject: false,
    timeout: opts.timeout ?? 30_000,
  });

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'ibex-papercuts-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('serve fails cleanly', () => {
  let blocker: Server;
  let busyPort: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('serve --mock on a port in use: one error, exit 1, and the mock stops too (the process ends)', async () => {
    const r = await run(['serve', '--mock', '--port', String(busyPort)], { timeout: 25_000 });
    expect(r.timedOut, 'serve kept running after the error').toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${busyPort}: the port is in use$`, 'm'));
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.stderr).not.toMatch(/a bug|\n\s+at /);
  }, 30_000);

  it('serve against a Postgres that refuses: the same clean error as the other commands', async () => {
    const env = { IBEX_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/ibex' };
    const serve = await run(['serve', '--port', '0'], { env });
    const list = await run(['agent', 'list'], { env });
    const auth = await run(['auth-server', '--port', '0'], { env });
    for (const r of [serve, list, auth]) {
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot reach the stores: postgres 127\.0\.0\.1:1\/ibex: connection refused$/m);
      expect(r.stderr).toMatch(/^hint: start PostgreSQL there, or fix IBEX_DATABASE_URL$/m);
      expect(r.stderr).not.toMatch(/a bug|\n\s+at /);
    }
  }, 60_000);

  it('serve without --mock and without an upstream key warns at start; with --mock or a key it does not', async () => {
    const bare = await startTestGateway({ env: { OPENAI_API_KEY: '' } });
    const withMock = await startTestGateway({ mock: false, env: { OPENAI_API_KEY: '' }, args: ['--mock'] });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(bare.output()).toMatch(/ warn +no upstream key: OPENAI_API_KEY is not set/);
      expect(withMock.output()).not.toMatch(/no upstream key/);
    } finally {
      await bare.stop();
      await withMock.stop();
    }
    const keyed = await startTestGateway();
    try {
      expect(keyed.output()).not.toMatch(/no upstream key/);
    } finally {
      await keyed.stop();
    }
    // Providers from ibex.yaml: the environment's key and URL are not used, so nothing to warn about
    // (each provider's own line says whether it has a key).
    const yamlHome = mkdtempSync(join(tmpdir(), 'ibex-yaml-providers-'));
    writeFileSync(join(yamlHome, 'ibex.yaml'), 'providers:\n  local: { kind: openai, baseUrl: "http://127.0.0.1:9/v1" }\n');
    const fromYaml = await startTestGateway({ mock: false, home: yamlHome, env: { OPENAI_API_KEY: '' } });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(fromYaml.output()).toMatch(/provider: local \(openai\) http:\/\/127\.0\.0\.1:9\/v1, no key/);
      expect(fromYaml.output()).not.toMatch(/no upstream key/);
    } finally {
      await fromYaml.stop();
      rmSync(yamlHome, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('serve --mock with an ibex.yaml that names no providers', () => {
  it('the default provider is the mock (not api.openai.com): a chat answers 200 from it', async () => {
    const yamlHome = mkdtempSync(join(tmpdir(), 'ibex-mock-yaml-'));
    writeFileSync(join(yamlHome, 'ibex.yaml'), 'agents:\n  support: { cache: { ttl: 10m } }\nretention: { traces: 30d }\n');
    const gw = await startTestGateway({ mock: false, home: yamlHome, env: { OPENAI_API_KEY: '' }, args: ['--mock'] });
    try {
      const agent = await run(['agent', 'create', 'support'], { env: { IBEX_HOME: yamlHome } });
      expect(agent.exitCode, agent.stderr).toBe(0);
      const pat = await run(['pat', 'create', '--agent', 'support', '--json'], { env: { IBEX_HOME: yamlHome } });
      const token = JSON.parse(pat.stdout).token as string;
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = await res.text();
      expect(res.status, body).toBe(200);
      expect(JSON.parse(body).choices[0].message.content).toEqual(expect.any(String));
      const providers = await run(['providers', '--json', '--url', gw.url, '--token', readFileSync(join(yamlHome, 'admin-token'), 'utf8').trim()], {
        env: { IBEX_HOME: yamlHome },
      });
      expect(JSON.parse(providers.stdout).providers[0].baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await gw.stop();
      rmSync(yamlHome, { recursive: true, force: true });
    }
  }, 60_000);
});

describeWithPostgres('serve and a missing Postgres database', () => {
  it('serve and agent list both say the database does not exist and suggest createdb', async () => {
    const db = `ibex_missing_${randomBytes(4).toString('hex')}`;
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${db}`;
    const env = { IBEX_DATABASE_URL: url.toString() };
    const serve = await run(['serve', '--port', '0'], { env });
    const list = await run(['agent', 'list'], { env });
    for (const r of [serve, list]) {
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: cannot reach the stores: postgres .*: database "${db}" does not exist$`, 'm'));
      expect(r.stderr).toMatch(new RegExp(`^hint: create it with \`createdb -h \\S+ -p \\d+( -U \\S+)? ${db}\``, 'm'));
      expect(r.stderr).not.toMatch(/a bug|\n\s+at /);
    }
  }, 60_000);
});

describe('config set validates, config get masks', () => {
  it('refuses a bad logLevel and host with the key and the accepted values (exit 2), leaving the file alone', async () => {
    const level = await run(['config', 'set', 'logLevel', 'loud']);
    expect(level.exitCode).toBe(2);
    expect(level.stderr).toMatch(/^error: invalid logLevel: "loud"$/m);
    expect(level.stderr).toMatch(/^hint: expected one of debug, info, warn, error, silent$/m);

    const host = await run(['config', 'set', 'host', 'bad host']);
    expect(host.exitCode).toBe(2);
    expect(host.stderr).toMatch(/^error: invalid host: "bad host"$/m);
    expect(host.stderr).toMatch(/^hint: expected a host name or IP address/m);

    expect((await run(['config', 'get', 'logLevel'])).stdout.trim()).toBe('');
    expect((await run(['config', 'get', 'host'])).stdout.trim()).toBe('');
    // the same rules accept what they should
    for (const [k, v] of [['logLevel', 'warn'], ['host', '0.0.0.0'], ['host', '::1'], ['host', 'gateway.internal']]) {
      expect((await run(['config', 'set', k!, v!])).exitCode, `${k}=${v}`).toBe(0);
    }
    await run(['config', 'unset', 'host']);
    await run(['config', 'unset', 'logLevel']);
  });

  it('a bad value already in the file names the key and how to fix it', async () => {
    const own = mkdtempSync(join(tmpdir(), 'ibex-papercuts-cfg-'));
    try {
      writeFileSync(join(own, 'config.json'), JSON.stringify({ logLevel: 'loud' }));
      // IBEX_LOG_LEVEL empty: the file's value is the one in effect
      const r = await run(['agent', 'list'], { env: { IBEX_HOME: own, IBEX_LOG_LEVEL: '' } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^error: invalid logLevel: "loud"$/m);
      expect(r.stderr).toMatch(/config file.*ibex config set logLevel/);
      // fixing it is not blocked by the bad value
      expect((await run(['config', 'set', 'logLevel', 'info'], { env: { IBEX_HOME: own } })).exitCode).toBe(0);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('get masks passwords inside URLs and secret keys, for one key and for the whole file', async () => {
    expect((await run(['config', 'set', 'databaseUrl', 'postgres://ibex:s3cret-pw@db.internal:5432/ibex'])).exitCode).toBe(0);
    expect((await run(['config', 'set', 'upstreamKey', 'sk-papercut-0123456789'])).exitCode).toBe(0);
    try {
      const one = await run(['config', 'get', 'databaseUrl']);
      expect(one.stdout.trim()).toBe('postgres://ibex:***@db.internal:5432/ibex');
      const all = await run(['config', 'get']);
      expect(all.stdout).not.toMatch(/s3cret-pw|sk-papercut/);
      expect(JSON.parse(all.stdout)).toMatchObject({ databaseUrl: 'postgres://ibex:***@db.internal:5432/ibex', upstreamKey: '***' });
      expect((await run(['config', 'get', 'upstreamKey'])).stdout).not.toMatch(/sk-papercut/);
    } finally {
      await run(['config', 'unset', 'databaseUrl']);
      await run(['config', 'unset', 'upstreamKey']);
    }
  });
});

describe('--json output', () => {
  let sessionId: string;
  beforeAll(async () => {
    expect((await run(['agent', 'create', 'times'])).exitCode).toBe(0);
    const pat = JSON.parse((await run(['pat', 'create', '--agent', 'times', '--json'])).stdout) as { id: string };
    const stores = await openSqliteStores(join(home, 'ibex.db'));
    sessionId = `sess_${randomBytes(6).toString('hex')}`;
    try {
      await stores.sessions.appendCheckpoints([
        {
          sessionId,
          agent: 'times',
          patId: pat.id,
          requestId: 'req_times_1',
          clientRequestId: null,
          model: 'gpt-4o-mini',
          directiveVersion: null,
          // the caller's own data: a number under an "…At" key must come back untouched
          messages: [{ role: 'user', content: 'hi', createdAt: 5 }],
          reply: 'hello',
          finishReason: 'stop',
          usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
          costUsd: null,
          status: 'ok',
          errorCode: null,
          stream: false,
          createdAt: Date.UTC(2025, 0, 31, 12, 0, 0),
        },
      ]);
    } finally {
      await stores.close();
    }
  });

  it('sessions list and sessions show print the same instants, as ISO 8601', async () => {
    const list = JSON.parse((await run(['sessions', 'list', '--json'])).stdout) as Record<string, unknown>[];
    const listed = list.find((s) => s.id === sessionId)!;
    const show = JSON.parse((await run(['sessions', 'show', sessionId, '--json'])).stdout) as {
      session: Record<string, unknown>;
      checkpoints: Record<string, unknown>[];
    };
    for (const v of [listed.createdAt, listed.updatedAt, show.session.createdAt, show.session.updatedAt, show.checkpoints[0]!.createdAt]) {
      expect(v).toMatch(ISO);
    }
    expect(show.session.updatedAt).toBe(listed.updatedAt);
    expect(show.checkpoints[0]!.createdAt).toBe('2025-01-31T12:00:00.000Z');
    expect(show.checkpoints[0]!.messages).toEqual([{ role: 'user', content: 'hi', createdAt: 5 }]);
  });

  it('every other list prints ISO 8601 instants too (agents, PATs, directives, migrations)', async () => {
    await run(['directive', 'set', 'times', '--text', 'x']);
    const agents = JSON.parse((await run(['agent', 'list', '--json'])).stdout) as { createdAt: unknown }[];
    const pats = JSON.parse((await run(['pat', 'list', '--json'])).stdout) as { createdAt: unknown }[];
    const dirs = JSON.parse((await run(['directive', 'history', 'times', '--json'])).stdout) as { createdAt: unknown }[];
    const migrations = JSON.parse((await run(['migrate', '--status', '--json'])).stdout) as { appliedAt: unknown }[];
    for (const v of [...agents, ...pats, ...dirs].map((r) => r.createdAt).concat(migrations.map((m) => m.appliedAt))) expect(v).toMatch(ISO);
  });

  it('`ibex sessions` and `ibex traces` list without `list`; table headings are words (UPDATED AT, not UPDATEDAT)', async () => {
    const bare = await run(['sessions', '--agent', 'times']);
    expect(bare.exitCode).toBe(0);
    expect(bare.stdout).toBe((await run(['sessions', 'list', '--agent', 'times'])).stdout);
    expect(bare.stdout.split('\n')[0]).toMatch(/^ID +AGENT +TURNS +TOTAL TOKENS +STATUS +UPDATED AT$/);
    expect(bare.stdout).toContain(sessionId);
    const traces = await run(['traces', '--agent', 'times', '--json']);
    expect(traces.exitCode).toBe(0);
    expect(JSON.parse(traces.stdout)).toEqual([]);
  });

  it('sessions show prints a turn whose input is a tool result item (no content) as the item, not "undefined"', async () => {
    const [pat] = JSON.parse((await run(['pat', 'list', '--json'])).stdout) as { id: string }[];
    const stores = await openSqliteStores(join(home, 'ibex.db'));
    const id = `sess_${randomBytes(6).toString('hex')}`;
    try {
      const output = { type: 'function_call_output', call_id: 'call_1', output: 'sunny-21C' };
      await stores.sessions.appendCheckpoints([
        { sessionId: id, agent: 'times', patId: pat!.id, requestId: 'req_tool_output', clientRequestId: null, model: 'm', directiveVersion: null,
          messages: [output], reply: 'Sunny.', finishReason: 'stop', usage: null, costUsd: null, status: 'ok', errorCode: null, stream: false, createdAt: Date.now() },
      ]);
    } finally {
      await stores.close();
    }
    const shown = await run(['sessions', 'show', id]);
    expect(shown.stdout).toContain('  > {"type":"function_call_output","call_id":"call_1","output":"sunny-21C"}');
    expect(shown.stdout).not.toContain('undefined');
  });

  it('an error with --json stays plain text on stderr, nothing on stdout', async () => {
    const r = await run(['sessions', 'show', 'sess_nope', '--json']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: no session "sess_nope"$/m);
  });
});

describe('pipes', () => {
  const sh = (script: string) => execa('bash', ['-c', script], { env: { IBEX_HOME: home, IBEX_LOG_LEVEL: 'warn', BIN }, reject: false, timeout: 30_000 });

  it('a list piped to head ends quietly (exit 0, no EPIPE stack)', async () => {
    await run(['agent', 'create', 'piped']);
    // larger than a pipe buffer, so the reader is gone while ibex is still writing
    await run(['directive', 'set', 'piped', '--file', '-'], { input: 'x'.repeat(300_000) });
    for (const cmd of ['directive history piped --json | head -c 10', 'agent list | head -n 0', 'pat list --json | true']) {
      const r = await sh(`node "$BIN" ${cmd} >/dev/null; echo "ibex-exit=\${PIPESTATUS[0]}"`);
      expect(r.stderr, cmd).toBe('');
      expect(r.stdout, cmd).toBe('ibex-exit=0');
    }
  });

  it('directive set --file - reads standard input', async () => {
    const r = await run(['directive', 'set', 'piped', '--file', '-', '--json'], { input: 'from stdin\n' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse((await run(['directive', 'get', 'piped', '--json'])).stdout)).toMatchObject({ text: 'from stdin\n' });
  });
});

describe('small things', () => {
  it('revoking an already revoked PAT says so and exits 0', async () => {
    await run(['agent', 'create', 'revoker']);
    const pat = JSON.parse((await run(['pat', 'create', '--agent', 'revoker', '--json'])).stdout) as { id: string; prefix: string };
    const first = await run(['pat', 'revoke', pat.id]);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^revoked /);
    const again = await run(['pat', 'revoke', pat.prefix]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^${pat.id} .* was already revoked at \\d{4}-\\d\\d-\\d\\dT`));
    const json = JSON.parse((await run(['pat', 'revoke', pat.id, '--json'])).stdout) as { status: string; alreadyRevoked: boolean };
    expect(json).toMatchObject({ status: 'revoked', alreadyRevoked: true });
  });

  it('an unknown agent fails the same way in every command (exit 1, one wording)', async () => {
    const cases = [
      ['sessions', 'list', '--agent', 'nosuch'],
      ['pat', 'list', '--agent', 'nosuch'],
      ['pat', 'create', '--agent', 'nosuch'],
      ['agent', 'disable', 'nosuch'],
      ['directive', 'set', 'nosuch', '--text', 'x'],
      ['directive', 'get', 'nosuch'],
      ['directive', 'history', 'nosuch'],
    ];
    for (const args of cases) {
      const r = await run(args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toBe('error: no agent named "nosuch"\nhint: see `ibex agent list`, or create it with `ibex agent create nosuch`');
    }
    // what the user typed is quoted escaped: no terminal escape sequence reaches stderr
    const esc = await run(['sessions', 'list', '--agent', '\u001b[2J']);
    expect(esc.exitCode).toBe(1);
    expect(esc.stderr).not.toMatch(/\u001b/);
    expect(esc.stderr).toMatch(/^error: no agent named "\\u001b\[2J"$/m);
  });

  it('LICENSE is MIT like package.json; README shows --port and export IBEX_PAT', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(existsSync(join(ROOT, 'LICENSE'))).toBe(true);
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    expect(license).toMatch(/Permission is hereby granted, free of charge/);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/ibex serve [^\n]*--port \d+/);
    expect(readme).toMatch(/export IBEX_PAT=/);
  });
});
