// The `ibex bench` modes of issue 18 end to end with the built CLI and tiny counts: --measure cpu,
// --rate (open loop), --target with --header/--target-pid, and --stores production on real Postgres,
// Redis and ClickHouse (isolated per run). Speed is not judged (the machine is shared); the shape of
// the reports and that each mode measured what it says are.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import pg from 'pg';
import { createTestDatabase } from '../helpers/postgres.js';
import { describeWithPostgres } from '../helpers/postgres.js';
import { deleteKeys, REDIS_TEST_URL, uniquePrefix } from '../helpers/redis.js';
import { clickhouseExec, probeClickHouse, testClickHouseDatabase } from '../helpers/clickhouse.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = process.env.IBEX_TEST_CLI ?? join(ROOT, 'bin/ibex.js');
const dir = mkdtempSync(join(tmpdir(), 'ibex-bench-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bench = (args: string[], env: Record<string, string> = {}) => execa('node', [CLI, 'bench', ...args], { reject: false, timeout: 150_000, env });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('ibex bench modes (tiny runs)', () => {
  it('--measure cpu: CPU per request of gateway and floor over a fixed count, per round and median, with the ratio', async () => {
    const file = join(dir, 'cpu.json');
    const r = await bench(['--measure', 'cpu', '--requests', '60', '--rounds', '2', '--warmup-requests', '10', '--concurrency', '4', '--json', file, '--assert-cpu-ratio', '1000']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/median ratio gateway ÷ floor:\s+[\d.]+×/);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.mode).toBe('cpu');
    expect(report.config).toMatchObject({ requests: 60, rounds: 2, warmupRequests: 10, concurrency: 4, upstreamLatencyMs: 0, stores: 'embedded' });
    expect(report.rounds).toHaveLength(2);
    expect(report.rounds.map((x: { order: string[] }) => x.order)).toEqual([
      ['direct', 'gateway', 'bare'],
      ['direct', 'bare', 'gateway'],
    ]);
    for (const round of report.rounds) {
      for (const p of [round.direct, round.gateway, round.bare]) {
        expect(p.requests).toBe(60);
        expect(p.errors).toBe(0);
        expect(p.cpuMsPerRequest).toBeGreaterThan(0);
        // the two counters are read one after the other, 10 ms ticks each: allow two ticks
        expect(p.mainThreadCpuMsPerRequest).toBeLessThanOrEqual(p.cpuMsPerRequest + 20 / 60);
      }
      expect(round.ratio).toBeCloseTo(round.gateway.cpuMsPerRequest / round.bare.cpuMsPerRequest, 2);
    }
    expect(report.median.ratio).toBeGreaterThan(0);
    expect(report.assert).toEqual({ maxRatio: 1000, actual: report.median.ratio, passed: true });
  }, 160_000);

  it('--rate: an open loop at a fixed rate through mock, gateway and floor', async () => {
    const file = join(dir, 'rate.json');
    const r = await bench(['--rate', '100', '--connections', '4', '--duration', '1s', '--warmup', '0.2s', '--upstream-latency', '5', '--baseline', 'bare', '--json', file, '--no-histogram']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('open loop at 100 req/s on 4 connections');
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.config).toMatchObject({ rate: 100, connections: 4, stores: 'embedded' });
    for (const p of [report.direct, report.gateway, report.baseline]) {
      // the schedule decides the count: 100/s for 1 s
      expect(p.requests).toBe(100);
      expect(p.errors).toBe(0);
      expect(p.latency.p50).toBeGreaterThanOrEqual(5);
    }
    expect(report.overhead.p99).toBeCloseTo(report.gateway.latency.p99 - report.direct.latency.p99, 2);
  }, 160_000);

  it('--target: measures a running gateway (here the bare proxy) against the bench mock, with --header and --target-pid', async () => {
    const mockPort = await freePort();
    const gw = execa('node', [join(ROOT, 'dist/src/bench/bare-proxy-main.js'), '--upstream', `http://127.0.0.1:${mockPort}/v1`, '--port', '0'], { reject: false });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('bare proxy did not start')), 20_000);
        gw.stdout!.on('data', (b: Buffer) => {
          const m = /listening on (http:\/\/\S+)/.exec(b.toString());
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        });
      });
      const file = join(dir, 'target.json');
      const r = await bench(['--target', url, '--header', 'Authorization: Bearer someone-elses-key', '--target-pid', String(gw.pid), '--mock-port', String(mockPort), '--concurrency', '2', '--duration', '1s', '--warmup', '0', '--upstream-latency', '5', '--json', file, '--no-histogram']);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`gateway under test: ${url} (not started by this run)`);
      const report = JSON.parse(readFileSync(file, 'utf8'));
      // the header's value may be a secret: only its name is reported
      expect(report.config.target).toEqual({ url, headerNames: ['authorization'], pid: gw.pid });
      expect(JSON.stringify(report)).not.toContain('someone-elses-key');
      expect(report.config.stores).toBe('target');
      expect(report.gateway.requests).toBeGreaterThan(0);
      expect(report.gateway.errors).toBe(0);
      expect(report.gateway.cpuMsPerRequest).toBeGreaterThan(0);
      expect(report.gateway.serverOverhead.count).toBe(0); // not ibex: no Server-Timing

      const cpu = await bench(['--measure', 'cpu', '--target', url, '--requests', '20', '--rounds', '1']);
      expect(cpu.exitCode).toBe(1);
      expect(cpu.stderr).toContain('--target-pid');
    } finally {
      gw.kill('SIGTERM');
      await gw;
    }
  }, 160_000);

  it('refuses mode flags that do not fit', async () => {
    for (const [args, msg] of [
      [['--measure', 'memory'], 'unknown --measure'],
      [['--stores', 'cloud'], 'unknown --stores'],
      [['--target', 'http://example.com:8787'], '--target must be an http:// URL on this machine'],
      [['--header', 'a: b'], '--header and --target-pid go with --target'],
      [['--measure', 'cpu', '--rate', '100'], '--rate does not go with --measure cpu'],
    ] as const) {
      const r = await bench([...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    const r = await bench(['--stores', 'production', '--duration', '1s'], { IBEX_DATABASE_URL: '', IBEX_REDIS_URL: '', IBEX_CLICKHOUSE_URL: '' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--stores production needs IBEX_DATABASE_URL, IBEX_REDIS_URL, IBEX_CLICKHOUSE_URL');
  }, 120_000);
});

const clickhouseDown = await probeClickHouse();

describeWithPostgres('ibex bench --stores production (Postgres, Redis, ClickHouse)', () => {
  it.skipIf(clickhouseDown !== null)('runs the gateway on the production stores and leaves its agent disabled, its PAT revoked', async () => {
    const db = await createTestDatabase('bench_prod');
    const ch = testClickHouseDatabase('bench_prod');
    const prefix = uniquePrefix('bench-prod');
    try {
      const file = join(dir, 'prod.json');
      const env = { IBEX_DATABASE_URL: db.url, IBEX_REDIS_URL: REDIS_TEST_URL, IBEX_REDIS_PREFIX: prefix, IBEX_CLICKHOUSE_URL: ch.url };
      const r = await bench(['--stores', 'production', '--concurrency', '2', '--duration', '1s', '--warmup', '0', '--upstream-latency', '5', '--json', file, '--no-histogram'], env);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('gateway under test: ibex serve on the production stores');
      const report = JSON.parse(readFileSync(file, 'utf8'));
      expect(report.config.stores).toBe('production');
      expect(report.gateway.errors).toBe(0);
      const served = report.gateway.requests;
      expect(served).toBeGreaterThan(0);

      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const agents = await client.query<{ name: string; enabled: boolean }>("SELECT name, enabled FROM agents WHERE name LIKE 'bench-%'");
        expect(agents.rows).toHaveLength(1);
        expect(agents.rows[0]!.enabled).toBe(false);
        const pats = await client.query<{ revoked_at: unknown }>('SELECT revoked_at FROM pats');
        expect(pats.rows).toHaveLength(1);
        expect(pats.rows[0]!.revoked_at).not.toBeNull();
        // checkpoints went to Postgres: one per measured request plus the preflight
        const cps = await client.query<{ n: string }>('SELECT count(*) AS n FROM checkpoints');
        expect(Number(cps.rows[0]!.n)).toBeGreaterThanOrEqual(served);
      } finally {
        await client.end();
      }
      // traces went to ClickHouse
      const traces = Number((await clickhouseExec(`SELECT count() FROM ${ch.name}.traces`)).trim());
      expect(traces).toBeGreaterThanOrEqual(served);
    } finally {
      await db.drop();
      await ch.drop();
      await deleteKeys(prefix);
    }
  }, 160_000);
});
