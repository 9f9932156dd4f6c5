// ibex.yaml reload: a change is picked up without a restart, a bad file is refused with one log line
// naming its line and the old config kept, an editor's replace-by-rename is followed.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchIbexYaml, type IbexFileConfig } from '../../src/config/ibex-yaml.js';

const ENV = { KEY_A: 'sk-watch-test-key-aaaa', KEY_B: 'sk-watch-test-key-bbbb' };
const fileWith = (model: string, key = 'KEY_A') => `providers:\n  a: { kind: openai, keys: ["\${${key}}"] }\nmodels:\n  fast: a/${model}\n`;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 8_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchIbexYaml', () => {
  let dir: string;
  let path: string;
  let stop: () => void = () => {};
  let applied: IbexFileConfig[];
  let logs: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-yaml-watch-'));
    path = join(dir, 'ibex.yaml');
    writeFileSync(path, fileWith('m1'));
    applied = [];
    logs = [];
    stop = watchIbexYaml(path, ENV, (c) => applied.push(c), { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) }, { debounceMs: 50, pollMs: 200 });
    await sleep(100); // let the watcher read the starting text
  });

  afterEach(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads on change', async () => {
    writeFileSync(path, fileWith('m2', 'KEY_B'));
    await waitFor('the reload', () => applied.length === 1);
    expect(applied[0]!.models.fast).toEqual([{ provider: 'a', model: 'm2' }]);
    expect(applied[0]!.providers[0]!.keys[0]!.value).toBe(ENV.KEY_B);
    expect(logs.some((l) => l.startsWith('info') && l.includes('reloaded'))).toBe(true);
  });

  it('refuses a bad file with one line naming the line, keeps the old config, then takes a good one', async () => {
    writeFileSync(path, 'providers:\n  a: { kind: openai }\nmodels:\n  fast: b/m3\n');
    await waitFor('the refusal', () => logs.some((l) => l.startsWith('warn')));
    const warns = logs.filter((l) => l.startsWith('warn'));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain(`${path}:4:9: models.fast: unknown provider "b"`);
    expect(warns[0]).toContain('keeping the previous configuration');
    expect(warns[0]).not.toContain('\n');
    expect(applied).toHaveLength(0);
    // The poll keeps running, but the same bad text is not reported again.
    await sleep(600);
    expect(logs.filter((l) => l.startsWith('warn'))).toHaveLength(1);

    writeFileSync(path, fileWith('m4'));
    await waitFor('the good file', () => applied.length === 1);
    expect(applied[0]!.models.fast).toEqual([{ provider: 'a', model: 'm4' }]);
  });

  it('a missing env variable in the new file is refused too', async () => {
    writeFileSync(path, fileWith('m5', 'NOT_IN_ENV'));
    await waitFor('the refusal', () => logs.some((l) => l.startsWith('warn')));
    expect(logs.find((l) => l.startsWith('warn'))).toContain('environment variable NOT_IN_ENV is not set');
    expect(applied).toHaveLength(0);
  });

  it('follows a file replaced by rename (how editors save) and ignores rewrites with the same text', async () => {
    writeFileSync(path, fileWith('m1')); // same text: no reload
    await sleep(500);
    expect(applied).toHaveLength(0);
    const tmp = join(dir, '.ibex.yaml.swp');
    writeFileSync(tmp, fileWith('m6'));
    renameSync(tmp, path);
    await waitFor('the reload after rename', () => applied.length === 1);
    expect(applied[0]!.models.fast).toEqual([{ provider: 'a', model: 'm6' }]);
    // Still watched after the replacement.
    writeFileSync(path, fileWith('m7'));
    await waitFor('the second reload', () => applied.length === 2);
    expect(applied[1]!.models.fast).toEqual([{ provider: 'a', model: 'm7' }]);
  });

  it('a deleted file keeps the old config; stop() ends watching', async () => {
    rmSync(path);
    await waitFor('the warning', () => logs.some((l) => l.startsWith('warn')));
    expect(logs.find((l) => l.startsWith('warn'))).toContain('keeping the previous configuration');
    expect(applied).toHaveLength(0);
    stop();
    writeFileSync(path, fileWith('m8'));
    await sleep(700);
    expect(applied).toHaveLength(0);
  });

  it('the poll alone picks up a change (fs.watch off)', async () => {
    stop();
    const seen: IbexFileConfig[] = [];
    stop = watchIbexYaml(path, ENV, (c) => seen.push(c), { info: () => {}, warn: () => {} }, { debounceMs: 20, pollMs: 100, fsWatch: false });
    await sleep(100);
    writeFileSync(path, fileWith('m9', 'KEY_B'));
    await waitFor('the polled reload', () => seen.length === 1);
    expect(seen[0]!.models.fast).toEqual([{ provider: 'a', model: 'm9' }]);
  });
});
