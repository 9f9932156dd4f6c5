// `ibex mock-upstream` as a real process: prints its URL, serves, exits 0 on SIGTERM and SIGINT.
// The command is transpiled on the fly (no type check, ~fast) into a git-ignored folder inside
// the repo so `commander` resolves from node_modules without depending on a full `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const repo = path.resolve(import.meta.dirname, '../..');
const sources = ['commands/mock-upstream.ts', 'src/errors.ts', ...fs.readdirSync(path.join(repo, 'src/mock')).filter((f) => f.endsWith('.ts')).map((f) => 'src/mock/' + f)];
let outDir: string;
let runner: string;

beforeAll(() => {
  fs.mkdirSync(path.join(repo, '.ibex-test'), { recursive: true });
  outDir = fs.mkdtempSync(path.join(repo, '.ibex-test', 'mock-cli-'));
  for (const rel of sources) {
    const js = ts.transpileModule(fs.readFileSync(path.join(repo, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: rel,
    }).outputText;
    const dest = path.join(outDir, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, js);
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}');
  runner = path.join(outDir, 'run.js');
  // Same shape as src/cli.ts will use: a commander program with the command registered.
  fs.writeFileSync(
    runner,
    `import { Command } from 'commander';
import { register } from './commands/mock-upstream.js';
const program = new Command('ibex');
register(program);
program.parseAsync(process.argv).catch((err) => { console.error(err.message); process.exit(err.exitCode ?? 1); });
`,
  );
});

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [runner, 'mock-upstream', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^mock upstream listening on (http:\/\/\S+\/v1)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`exited before listening: ${out} ${err}`)));
  });
  url.catch(() => {}); // awaited only by the tests that expect a listener
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, exit, stderr: () => err };
}

describe('ibex mock-upstream (process)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('serves requests and exits 0 on %s', async (signal) => {
    const p = start(['--port', '0', '--chunks', '2']);
    const url = await p.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await fetch(`${url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
    expect(((await res.json()) as any).choices[0].message.content).toBe('echo:[{"role":"user","content":"x"}]');
    p.child.kill(signal);
    expect(await p.exit).toBe(0);
  });

  it('--protocol anthropic serves the Messages API', async () => {
    const child = spawn(process.execPath, [runner, 'mock-upstream', '--port', '0', '--protocol', 'anthropic', '--api-key', 'k1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const origin = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+) \(anthropic\)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    const headers = { 'x-api-key': 'k1', 'anthropic-version': '2023-06-01' };
    const res = await fetch(`${origin}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }) });
    expect(((await res.json()) as any).content[0].text).toBe('echo:{"system":null,"messages":[{"role":"user","content":"x"}]}');
    const wrongKey = await fetch(`${origin}/v1/models`, { headers: { ...headers, 'x-api-key': 'k2' } });
    expect(wrongKey.status).toBe(401);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('a bad flag exits 2 without listening', async () => {
    const p = start(['--port', '0', '--fail-rate', '2']);
    expect(await p.exit).toBe(2);
    expect(p.stderr()).toContain('--fail-rate');
  });
});
