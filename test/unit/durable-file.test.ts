import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileDurably, writeFileDurablySync } from '../../src/util/durable-file.js';

describe('writeFileDurably (spool and dead-letter files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ibex-durable-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, write] of [
    ['async', (d: string, f: string, b: Buffer) => writeFileDurably(d, f, b)],
    ['sync', async (d: string, f: string, b: Buffer) => writeFileDurablySync(d, f, b)],
  ] as const) {
    it(`${name}: the whole file under its name, owner-only, no .tmp left`, async () => {
      await write(dir, 'batch.jsonl', Buffer.from('{"a":1}\n'));
      expect(readFileSync(join(dir, 'batch.jsonl'), 'utf8')).toBe('{"a":1}\n');
      expect(statSync(join(dir, 'batch.jsonl')).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['batch.jsonl']);
    });

    it(`${name}: a .tmp another writer holds is not overwritten (exclusive create) and the name stays absent`, async () => {
      writeFileSync(join(dir, 'batch.jsonl.tmp'), 'someone else');
      await expect(write(dir, 'batch.jsonl', Buffer.from('mine'))).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(join(dir, 'batch.jsonl.tmp'), 'utf8')).toBe('someone else');
      expect(readdirSync(dir)).toEqual(['batch.jsonl.tmp']);
    });
  }
});
