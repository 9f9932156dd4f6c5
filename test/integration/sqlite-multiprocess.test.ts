// Separate processes writing one SQLite file at the same moment, as `ibex serve` plus many CLI
// commands do: BEGIN IMMEDIATE + busy_timeout must serialize them with no SQLITE_BUSY error and no
// lost update. The adapter is transpiled (no type check, no full build) into a gitignored folder
// inside the repo so the children resolve better-sqlite3 and the migrations like the real CLI.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import type { RelationalStores } from '../../src/stores/relational.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Transpiles `entry` and every relative import it reaches into `outRoot`, keeping repo-relative paths. */
function transpileGraph(entry: string, outRoot: string): string {
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const out = join(outRoot, relative(repo, file).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    for (const m of source.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) queue.push(resolve(dirname(file), m[1] + '.ts'));
  }
  return join(outRoot, relative(repo, entry).replace(/\.ts$/, '.js'));
}

const CHILD = `
const { openSqliteStores } = await import(process.env.IBEX_MODULE);
const stores = await openSqliteStores(process.env.IBEX_DB);
const wait = Number(process.env.IBEX_START_AT) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
try {
  if (process.env.IBEX_OP === 'checkpoint') {
    const n = Number(process.env.IBEX_N);
    // One start time for the batch: a session reads in start-time order (ADR 0007), so two calls to
    // Date.now() a millisecond apart would let another process's checkpoint sort between them.
    const at = Date.now();
    await stores.sessions.appendCheckpoints([n, n + 100].map((k) => ({
      sessionId: 'shared-session', agent: 'racer', patId: 'pat_' + k, requestId: 'req-' + k, model: 'm',
      directiveVersion: null, messages: [{ role: 'user', content: 'from ' + k }], reply: 'r' + k, finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, status: 'ok', errorCode: null, stream: false,
      createdAt: at,
    })));
    process.stdout.write('{}');
  } else {
    const d = await stores.directives.append(process.env.IBEX_AGENT, process.env.IBEX_TEXT);
    process.stdout.write(JSON.stringify({ version: d.version, text: d.text }));
  }
} finally {
  await stores.close();
}
`;

function runChild(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('sqlite: concurrent writers in separate processes', () => {
  let buildDir: string;
  let moduleUrl: string;
  let dataDir: string;
  let dbPath: string;
  let stores: RelationalStores;

  beforeAll(async () => {
    mkdirSync(join(repo, '.ibex-test'), { recursive: true });
    buildDir = mkdtempSync(join(repo, '.ibex-test', 'sqlite-mp-'));
    moduleUrl = pathToFileURL(transpileGraph(join(repo, 'src/stores/sqlite/index.ts'), buildDir)).href;
    dataDir = mkdtempSync(join(tmpdir(), 'ibex-sqlite-mp-'));
    dbPath = join(dataDir, 'ibex.db');
    stores = await openSqliteStores(dbPath);
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('20 processes appending a directive at once get versions 1..20, none lost, no error', async () => {
    await stores.agents.create({ name: 'racer' });
    const startAt = String(Date.now() + 1500); // all children past startup before the first write
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runChild({ IBEX_MODULE: moduleUrl, IBEX_DB: dbPath, IBEX_START_AT: startAt, IBEX_AGENT: 'racer', IBEX_TEXT: `from child ${i}` }),
      ),
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const written = results.map((r) => JSON.parse(r.stdout) as { version: number; text: string });
    expect(written.map((w) => w.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    // The parent's own connection sees every child's write, under the version the child was told.
    const history = await stores.directives.history('racer');
    expect(history.map((d) => d.version)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    for (const w of written) expect((await stores.directives.get('racer', w.version))?.text).toBe(w.text);
    expect(new Set(history.map((d) => d.text)).size).toBe(20);
  }, 60_000);

  it('20 processes appending checkpoints to one session at once: seq 1..40, each batch contiguous', async () => {
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runChild({ IBEX_MODULE: moduleUrl, IBEX_DB: dbPath, IBEX_START_AT: startAt, IBEX_OP: 'checkpoint', IBEX_N: String(i) }),
      ),
    );
    for (const r of results) expect([r.code, r.stderr]).toEqual([0, '']);
    const checkpoints = await stores.sessions.checkpoints('shared-session');
    expect(checkpoints.map((c) => c.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(checkpoints.map((c) => c.requestId)).size).toBe(40);
    // one process's batch is one transaction with one start time: its two checkpoints are neighbours,
    // in batch order (ties on start time are ordered by the stored seq)
    for (let i = 0; i < 20; i++) {
      const a = checkpoints.findIndex((c) => c.requestId === `req-${i}`);
      const b = checkpoints.findIndex((c) => c.requestId === `req-${i + 100}`);
      expect(b).toBe(a + 1);
    }
    expect(await stores.sessions.getSession('shared-session')).toMatchObject({ turns: 40, promptTokens: 40, totalTokens: 120 });
  }, 60_000);
});
