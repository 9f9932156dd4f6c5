// The SQL the ClickHouse trace sink builds, without a server: migration variants per server
// version, retention statements for both paths (TTL on 19.6+, partition drops before), escaping,
// URL parsing and row clamping.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropPartitionStatement, expiredPartitions, ttlIsCurrent, ttlStatement, yyyymmdd } from '../../src/stores/clickhouse/retention.js';
import { fromRow, toRow } from '../../src/stores/clickhouse/rows.js';
import { ident, parseClickHouseUrl, quote } from '../../src/stores/clickhouse/url.js';
import { chooseVariant, parseVariants, renderStatements } from '../../src/stores/clickhouse/variants.js';
import { parseVersion, versionAtLeast } from '../../src/stores/clickhouse/version.js';
import { migrationsDir } from '../../src/stores/migrations.js';
import type { Trace } from '../../src/stores/ports.js';

const DAY = 86_400_000;

describe('migration variants', () => {
  const shipped = readFileSync(join(migrationsDir('clickhouse'), '0001_traces.sql'), 'utf8');

  it('the shipped traces migration: 18.16 and 19.x get the base table, 20.3+ LowCardinality and codecs', () => {
    const variants = parseVariants(shipped, '0001_traces');
    expect(variants.map((v) => v.label)).toEqual(['requires 20.3', 'base']);
    for (const v of ['18.16.1', '19.17.4.11']) {
      const chosen = chooseVariant(variants, parseVersion(v));
      expect(chosen.label).toBe('base');
      const sql = renderStatements(chosen, '`db`').join('\n');
      expect(sql).not.toMatch(/LowCardinality|CODEC|DateTime64|TTL/);
    }
    for (const v of ['20.3.1', '23.8.2.7', '24.1']) {
      const chosen = chooseVariant(variants, parseVersion(v));
      expect(chosen.label).toBe('requires 20.3');
      expect(renderStatements(chosen, '`db`').join('\n')).toMatch(/LowCardinality\(String\)/);
    }
  });

  it('every variant creates the same columns, with {database} substituted', () => {
    const columnsOf = (sql: string) => [...sql.matchAll(/^\s{4}([a-z_]+) /gm)].map((m) => m[1]);
    const [newer, base] = parseVariants(shipped, '0001_traces').map((v) => renderStatements(v, '`ibex_x`'));
    expect(newer).toHaveLength(1);
    expect(base).toHaveLength(1);
    expect(columnsOf(base![0]!)).toHaveLength(23);
    expect(columnsOf(newer![0]!)).toEqual(columnsOf(base![0]!));
    expect(base![0]).toMatch(/^CREATE TABLE IF NOT EXISTS `ibex_x`\.traces/);
    expect(base![0]).not.toContain('{database}');
    expect(base![0]).toMatch(/ENGINE = ReplacingMergeTree\s+PARTITION BY toYYYYMMDD\(started_at\)\s+ORDER BY \(agent, started_at_ms, request_id\)$/);
  });

  it('a file without markers is one statement list for every version; statements split on ";" at line end', () => {
    const [only, ...rest] = parseVariants('-- comment\nCREATE TABLE a (x String);\nALTER TABLE a ADD COLUMN y String;\n', 'x');
    expect(rest).toEqual([]);
    expect(only!.requires).toBeNull();
    expect(only!.statements).toEqual(['CREATE TABLE a (x String)', 'ALTER TABLE a ADD COLUMN y String']);
  });

  it('rejects files a server version could find no variant in, or with SQL outside a section', () => {
    expect(() => parseVariants('-- requires: 20.3\nSELECT 1;\n', 'x')).toThrow(/last section must be "-- else"/);
    expect(() => parseVariants('SELECT 0;\n-- requires: 20.3\nSELECT 1;\n-- else\nSELECT 2;\n', 'x')).toThrow(/before the first/);
    expect(() => parseVariants('-- else\nSELECT 2;\n-- requires: 20.3\nSELECT 1;\n', 'x')).toThrow(/last section/);
    expect(() => parseVariants('-- requires: 20.3\n-- else\nSELECT 2;\n', 'x')).toThrow(/has no statement/);
  });

  it('compares versions component by component', () => {
    expect(versionAtLeast(parseVersion('18.16.1'), parseVersion('19.6'))).toBe(false);
    expect(versionAtLeast(parseVersion('19.6'), parseVersion('19.6'))).toBe(true);
    expect(versionAtLeast(parseVersion('19.10.1'), parseVersion('19.6'))).toBe(true);
    expect(versionAtLeast(parseVersion('20.1'), parseVersion('19.17.9'))).toBe(true);
    expect(() => parseVersion('abc')).toThrow(/cannot parse/);
  });
});

describe('retention SQL', () => {
  const now = Date.UTC(2026, 2, 15, 13, 0, 0); // 2026-03-15 13:00 UTC

  it('drops only daily partitions that ended more than retentionDays ago', () => {
    const parts = ['20260101', '20260212', '20260213', '20260214', '20260315', 'junk', '2026021'];
    // cutoff day = 2026-02-13 (15 Mar − 30 d): rows of 12 Feb are all older than 30 days
    expect(expiredPartitions(parts, 30, now)).toEqual(['20260101', '20260212']);
    expect(expiredPartitions(parts, 1, now)).toEqual(['20260101', '20260212', '20260213', '20260214']);
    expect(expiredPartitions([], 30, now)).toEqual([]);
    expect(yyyymmdd(now - 30 * DAY)).toBe('20260213');
  });

  it('builds the statements it issues', () => {
    expect(dropPartitionStatement('ibex', '20260212')).toBe('ALTER TABLE `ibex`.traces DROP PARTITION 20260212');
    expect(() => dropPartitionStatement('ibex', "1' OR 1")).toThrow(/unexpected partition/);
    expect(ttlStatement('ibex', 14)).toBe('ALTER TABLE `ibex`.traces MODIFY TTL started_at + toIntervalDay(14)');
    expect(() => ttlStatement('ibex', 0)).toThrow(/whole number of days/);
  });

  it('re-issues the TTL only when the table does not already have it', () => {
    const withTtl =
      'ReplacingMergeTree PARTITION BY toYYYYMMDD(started_at) ORDER BY (agent, started_at_ms, request_id) TTL started_at + toIntervalDay(30) SETTINGS index_granularity = 8192';
    expect(ttlIsCurrent(withTtl, 30)).toBe(true);
    expect(ttlIsCurrent(withTtl, 7)).toBe(false);
    expect(ttlIsCurrent('ReplacingMergeTree ORDER BY request_id SETTINGS index_granularity = 8192', 30)).toBe(false);
  });
});

describe('URL, identifiers and literals', () => {
  it('takes the database from the path (default `default`) and keeps credentials out of display', () => {
    expect(parseClickHouseUrl('http://u:p%40ss@ch:8123/ibex')).toEqual({
      origin: 'http://ch:8123',
      username: 'u',
      password: 'p@ss',
      database: 'ibex',
      display: 'http://ch:8123/ibex',
    });
    expect(parseClickHouseUrl('https://ch:8443/').database).toBe('default');
    expect(() => parseClickHouseUrl('ftp://ch/x')).toThrow(/unsupported protocol/);
    expect(() => parseClickHouseUrl('http://ch:8123/a-b')).toThrow(/invalid database name/);
  });

  it('escapes string literals and refuses odd identifiers', () => {
    expect(quote("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
    expect(ident('ibex_1')).toBe('`ibex_1`');
    expect(() => ident('a`b')).toThrow();
  });
});

describe('rows', () => {
  const trace: Trace = {
    requestId: 'r',
    clientRequestId: 'caller-r',
    sessionId: null,
    agent: null,
    patId: null,
    model: 'm',
    provider: null,
    stream: true,
    status: 200,
    errorCode: null,
    startedAt: 1_700_000_000_123,
    totalMs: 1.5,
    upstreamTtfbMs: null,
    upstreamMs: 1,
    overheadMs: 0.5,
    stages: { auth: 0.1 },
    promptTokens: 3,
    completionTokens: null,
    totalTokens: 3,
    cachedTokens: 1,
    reasoningTokens: null,
    costUsd: 0.000123,
    bytesIn: 10,
    bytesOut: 20,
    directiveVersion: null,
    servedModel: 'gpt-4o-mini',
    attempts: [{ provider: 'primary', model: 'gpt-4o', error: 'upstream_timeout' }],
    policyDecisions: [{ policy: 'pii-redact', phase: 'stream', action: 'replace', detail: 'redacted 1 email (×2)' }],
    cacheStatus: 'miss',
  };

  it('round-trips through the row shape (64-bit integers come back as strings)', () => {
    const row = toRow(trace);
    expect(row.agent).toBe('');
    expect(row.stage_names).toEqual(['auth']);
    const back = fromRow({ ...row, started_at_ms: String(row.started_at_ms), bytes_in: '10', bytes_out: '20' });
    expect(back).toEqual(trace);
    // No failed attempt: NULL in the row, [] back.
    const first = toRow({ ...trace, attempts: [] });
    expect(first.attempts).toBeNull();
    expect(fromRow({ ...first }).attempts).toEqual([]);
    // No policy acted, no cache: NULL in the row, null back.
    const quiet = toRow({ ...trace, policyDecisions: null, cacheStatus: null });
    expect([quiet.policy_decisions, quiet.cache_status]).toEqual([null, null]);
    expect(fromRow({ ...quiet })).toMatchObject({ policyDecisions: null, cacheStatus: null });
  });

  it('clamps values a column would refuse, so one bad trace cannot block its batch forever', () => {
    const row = toRow({ ...trace, status: 70_000, promptTokens: -4, totalTokens: 2.6, bytesIn: -1, startedAt: 1.7e12 + 0.4, directiveVersion: 1e12 });
    expect(row).toMatchObject({ status: 65_535, prompt_tokens: 0, total_tokens: 3, bytes_in: 0, started_at_ms: 1.7e12, directive_version: 4_294_967_295 });
  });
});
