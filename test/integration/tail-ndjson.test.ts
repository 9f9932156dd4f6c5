// `ibex tail --json`: in-process against the runner, and as a real process (the command module
// transpiled on the fly, as test/integration/mock-upstream-cli.test.ts does) to check that stdout
// carries nothing but NDJSON and that SIGINT ends it with exit 0.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import ts from 'typescript';
import { registerAdminRoutes } from '../../src/server/routes/admin.js';
import { MemoryBus } from '../../src/stores/memory/bus.js';
import { runTailNdjson } from '../../src/tail/ndjson.js';
import type { Trace } from '../../src/stores/ports.js';

const TOKEN = 'ndjson-token';
const repo = path.resolve(import.meta.dirname, '../..');

function makeTrace(requestId: string, agent = 'alpha'): Trace {
  return {
    requestId, sessionId: 's', agent, patId: 'p', model: 'm', provider: 'openai', stream: false, status: 200,
    errorCode: null, startedAt: 1, totalMs: 3, upstreamTtfbMs: 2, upstreamMs: 2, overheadMs: 0.5, stages: {},
    promptTokens: 1, completionTokens: 1, totalTokens: 2, bytesIn: 1, bytesOut: 1, directiveVersion: null,
    clientRequestId: null, cachedTokens: null, reasoningTokens: null, costUsd: null,
  };
}

let app: FastifyInstance | undefined;
let bus: MemoryBus;
let base: string;
async function startGateway() {
  bus = new MemoryBus();
  app = Fastify();
  registerAdminRoutes(app, { bus, adminToken: TOKEN });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
}
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function waitFor(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Publishes until `seen()` is true: the reader may still be connecting when we start. */
async function publishUntil(seen: () => boolean, trace: Trace) {
  const end = Date.now() + 8000;
  while (!seen()) {
    if (Date.now() > end) throw new Error(`never saw ${trace.requestId}`);
    await bus.publish('trace', trace);
    await new Promise((r) => setTimeout(r, 30));
  }
}

describe('runTailNdjson', () => {
  it('writes one trace per line and status lines only to the log', async () => {
    await startGateway();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const logs: string[] = [];
    const abort = new AbortController();
    const run = runTailNdjson({ url: base, token: TOKEN, agent: 'beta', out, log: (l) => logs.push(l), signal: abort.signal });
    await waitFor(() => logs.some((l) => l.includes('connected')));
    await bus.publish('trace', makeTrace('a-1', 'alpha'));
    await publishUntil(() => text.includes('b-1'), makeTrace('b-1', 'beta'));
    abort.abort();
    await run;
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ requestId: 'b-1', agent: 'beta' });
    expect(logs[0]).toBe(`tail: connected to ${base}`);
  });

  it('stops quietly when the output pipe breaks (e.g. | head -n 1)', async () => {
    await startGateway();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const abort = new AbortController();
    const run = runTailNdjson({ url: base, token: TOKEN, out, log: () => {}, signal: abort.signal });
    await publishUntil(() => text.includes('first'), makeTrace('first'));
    out.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await bus.publish('trace', makeTrace('after-close'));
    const outcome = await Promise.race([run.then(() => 'ended'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
    abort.abort();
    expect(outcome).toBe('ended');
  });
});

describe('ibex tail --json as a process', () => {
  let outDir: string;
  let runner: string;

  beforeAll(() => {
    fs.mkdirSync(path.join(repo, '.ibex-test'), { recursive: true });
    outDir = fs.mkdtempSync(path.join(repo, '.ibex-test', 'tail-cli-'));
    // Transpile commands/tail.ts and every relative import it reaches (type-only ones vanish).
    const queue = ['commands/tail.ts'];
    const done = new Set<string>();
    while (queue.length > 0) {
      const rel = queue.pop()!;
      if (done.has(rel)) continue;
      done.add(rel);
      const source = fs.readFileSync(path.join(repo, rel), 'utf8');
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX },
        fileName: rel,
      }).outputText;
      const dest = path.join(outDir, rel.replace(/\.tsx?$/, '.js'));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, js);
      for (const m of js.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
        const target = path.join(path.dirname(rel), m[1]!);
        queue.push(fs.existsSync(path.join(repo, `${target}.ts`)) ? `${target}.ts` : `${target}.tsx`);
      }
    }
    fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}');
    runner = path.join(outDir, 'run.js');
    fs.writeFileSync(
      runner,
      `import { Command } from 'commander';
import { register } from './commands/tail.js';
const program = new Command('ibex');
register(program);
program.parseAsync(process.argv).catch((err) => {
  process.stderr.write('error: ' + err.message + (err.hint ? '\\nhint: ' + err.hint : '') + '\\n');
  process.exit(err.exitCode ?? 1);
});
`,
    );
  });

  afterAll(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  function spawnTail(args: string[], env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, [runner, 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exit, stdout: () => stdout, stderr: () => stderr };
  }

  it('streams NDJSON (stdout is a pipe, so no --json needed), reads the token file, exits 0 on SIGINT', async () => {
    await startGateway();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ibex-tail-home-'));
    fs.writeFileSync(path.join(home, 'admin-token'), `${TOKEN}\n`);
    const port = new URL(base).port;
    const proc = spawnTail([], { IBEX_HOME: home, IBEX_HOST: '127.0.0.1', IBEX_PORT: port, IBEX_ADMIN_TOKEN: '' });
    await waitFor(() => proc.stderr().includes('connected'), 10_000);
    await publishUntil(() => proc.stdout().includes('p-1'), makeTrace('p-1'));
    proc.child.kill('SIGINT');
    expect(await proc.exit).toBe(0);
    const lines = proc.stdout().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ requestId: 'p-1' });
    expect(proc.stderr()).toContain(`tail: connected to http://127.0.0.1:${port}`);
  }, 20_000);

  it('fails with exit 1 and a hint when there is no admin token', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ibex-tail-home-'));
    const proc = spawnTail(['--json', '--url', 'http://127.0.0.1:9'], { IBEX_HOME: home, IBEX_ADMIN_TOKEN: '' });
    expect(await proc.exit).toBe(1);
    expect(proc.stdout()).toBe('');
    expect(proc.stderr()).toMatch(/no admin token/);
    expect(proc.stderr()).toMatch(/hint: .*ibex serve/);
  }, 20_000);

  it('fails with exit 1 when the gateway refuses the token', async () => {
    await startGateway();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ibex-tail-home-'));
    const proc = spawnTail(['--json', '--url', base, '--token', 'wrong'], { IBEX_HOME: home });
    expect(await proc.exit).toBe(1);
    expect(proc.stdout()).toBe('');
    expect(proc.stderr()).toMatch(/refused the admin token/);
  }, 20_000);
});
