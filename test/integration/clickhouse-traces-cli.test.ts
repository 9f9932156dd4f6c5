// `ibex traces list` as a user runs it (the built CLI, `npm test` builds first) with
// IBEX_CLICKHOUSE_URL pointing at a fresh database: table output, --json, filters, bad flags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openClickHouseTraceSink } from '../../src/stores/clickhouse/index.js';
import type { Trace } from '../../src/stores/ports.js';
import { describeWithClickHouse, makeTrace, testClickHouseDatabase, type TestClickHouseDatabase } from '../helpers/clickhouse.js';

const BIN = join(import.meta.dirname, '../../bin/ibex.js');

describeWithClickHouse('clickhouse: ibex traces list', () => {
  let db: TestClickHouseDatabase;
  let home: string;
  let env: Record<string, string>;
  const now = Date.now();
  const traces: Trace[] = [
    makeTrace({ requestId: 'cli_1', agent: 'writer', sessionId: 'sess_w', startedAt: now - 3_000, totalMs: 123.456, overheadMs: 3.21, totalTokens: 30 }),
    makeTrace({ requestId: 'cli_2', agent: 'coder', sessionId: 'sess_c', startedAt: now - 2_000, status: 502, errorCode: 'upstream_error', totalTokens: null }),
    makeTrace({ requestId: 'cli_3', agent: 'writer', sessionId: 'sess_w2', startedAt: now - 1_000 }),
  ];

  const cli = (args: string[]) => execa('node', [BIN, ...args], { env, extendEnv: true, reject: false, timeout: 30_000 });

  beforeAll(async () => {
    db = testClickHouseDatabase('traces_cli');
    home = mkdtempSync(join(tmpdir(), 'ibex-traces-cli-'));
    env = { IBEX_HOME: home, IBEX_CLICKHOUSE_URL: db.url, IBEX_LOG_LEVEL: 'silent' };
    const sink = await openClickHouseTraceSink(db.url);
    await sink.migrate();
    await sink.write(traces);
    await sink.close();
  });

  afterAll(async () => {
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('prints an aligned table, most recent first', async () => {
    const r = await cli(['traces', 'list']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+REQUEST ID\s+CLIENT REQUEST ID\s+AGENT\s+SESSION\s+MODEL\s+SERVED BY\s+STATUS\s+TOTAL MS\s+OVERHEAD MS\s+TOKENS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['cli_3', 'cli_2', 'cli_1']);
    // Columns line up: every row has "request id" where the header has it.
    const col = lines[0]!.indexOf('REQUEST ID');
    for (const l of lines.slice(1)) expect(l.slice(col, col + 4)).toBe('cli_');
    expect(lines[2]).toMatch(/502 upstream_error/);
    expect(lines[3]).toMatch(/123\.5\s+3\.2\s+30$/);
  });

  it('--json prints one JSON array of traces; --agent, --session and --limit filter', async () => {
    const all = await cli(['traces', 'list', '--json']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual([...traces].reverse());

    const writer = JSON.parse((await cli(['traces', 'list', '--agent', 'writer', '--json'])).stdout) as Trace[];
    expect(writer.map((t) => t.requestId)).toEqual(['cli_3', 'cli_1']);
    const session = JSON.parse((await cli(['traces', 'list', '--session', 'sess_c', '--json'])).stdout) as Trace[];
    expect(session.map((t) => t.requestId)).toEqual(['cli_2']);
    const limited = JSON.parse((await cli(['traces', 'list', '--limit', '1', '--json'])).stdout) as Trace[];
    expect(limited.map((t) => t.requestId)).toEqual(['cli_3']);
  });

  it('a bad --limit is a usage error (exit 2)', async () => {
    const r = await cli(['traces', 'list', '--limit', 'lots']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--limit/);
  });
});
