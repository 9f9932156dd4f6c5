// One validator per config key, shared by loadConfig (flags, env, file) and `ibex config set`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig, maskConfigValue, redactUrl, validateConfigValue } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

const home = mkdtempSync(join(tmpdir(), 'ibex-config-unit-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function refusal(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('validateConfigValue', () => {
  it('logLevel: only the levels the logger knows', () => {
    for (const v of ['debug', 'info', 'warn', 'error', 'silent']) expect(validateConfigValue('logLevel', v)).toBe(v);
    const e = refusal(() => validateConfigValue('logLevel', 'loud'));
    expect(e.message).toBe('invalid logLevel: "loud"');
    expect(e.hint).toBe('expected one of debug, info, warn, error, silent');
  });

  it('host: a DNS name or an IP literal, nothing with spaces or slashes', () => {
    for (const v of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'gw-1.example.com', 'fe80::1']) expect(validateConfigValue('host', v)).toBe(v);
    for (const v of ['bad host', 'http://x', 'a/b', '-lead', 'x'.repeat(64), '', ' ']) {
      expect(refusal(() => validateConfigValue('host', v)).message).toMatch(/^invalid host/);
    }
  });

  it('integers: whole numbers within the range, as numbers', () => {
    expect(validateConfigValue('port', '8080')).toBe(8080);
    expect(validateConfigValue('port', 0)).toBe(0);
    for (const v of ['70000', '-1', '1.5', '1e3', '0x10', 'abc']) {
      const e = refusal(() => validateConfigValue('port', v));
      expect(e.message).toBe(`invalid port: ${JSON.stringify(v)}`);
      expect(e.hint).toBe('expected a whole number from 0 to 65535');
    }
  });

  it('URLs: the right protocol; never echoes the value (it may hold a password)', () => {
    expect(validateConfigValue('databaseUrl', 'postgres://u:p@h/db')).toBe('postgres://u:p@h/db');
    const e = refusal(() => validateConfigValue('databaseUrl', 'mysql://u:hunter2@h/db'));
    expect(e.message).toBe('invalid databaseUrl: protocol mysql:');
    expect(`${e.message} ${e.hint}`).not.toContain('hunter2');
    expect(refusal(() => validateConfigValue('redisUrl', 'not a url hunter2')).message).toBe('invalid redisUrl: not a URL');
  });

  it('every key has a rule with an env name and an "accepts" text', () => {
    for (const [key, rule] of Object.entries(CONFIG_KEYS)) {
      expect(rule.env, key).toMatch(/^[A-Z_]+$/);
      expect(rule.accepts.length, key).toBeGreaterThan(5);
    }
  });
});

describe('loadConfig uses the same rules and says where a bad value came from', () => {
  it('env', () => {
    const e = refusal(() => loadConfig({}, { IBEX_HOME: home, IBEX_LOG_LEVEL: 'loud' }));
    expect(e.message).toBe('invalid logLevel: "loud"');
    expect(e.hint).toMatch(/\(from env IBEX_LOG_LEVEL\)$/);
  });
  it('file', () => {
    const own = mkdtempSync(join(home, 'file-'));
    writeFileSync(join(own, 'config.json'), JSON.stringify({ host: 'bad host' }));
    const e = refusal(() => loadConfig({}, { IBEX_HOME: own }));
    expect(e.message).toBe('invalid host: "bad host"');
    expect(e.hint).toMatch(/config file.*`ibex config set host …` or `ibex config unset host`/);
  });
  it('flag beats a bad env value, and good values come back typed', () => {
    const c = loadConfig({ port: '9000', logLevel: 'warn' }, { IBEX_HOME: home, IBEX_PORT: 'x' });
    expect(c.port).toBe(9000);
    expect(c.logLevel).toBe('warn');
    expect(c.host).toBe('127.0.0.1');
  });
});

describe('masking for `config get`', () => {
  it('passwords inside URLs, secret keys whole, other values as they are', () => {
    expect(maskConfigValue('databaseUrl', 'postgres://ibex:s3cret@db:5432/ibex')).toBe('postgres://ibex:***@db:5432/ibex');
    expect(maskConfigValue('clickhouseUrl', 'http://u:pw@ch:8123/traces')).toBe('http://u:***@ch:8123/traces');
    expect(maskConfigValue('databaseUrl', 'postgres://db/ibex?password=s3cret')).toBe('postgres://db/ibex?password=***');
    expect(maskConfigValue('upstreamKey', 'sk-123456789')).toBe('***');
    expect(maskConfigValue('adminToken', 'tok')).toBe('***');
    expect(maskConfigValue('port', '9999')).toBe('9999');
    expect(maskConfigValue('databaseUrl', undefined)).toBeUndefined();
    expect(redactUrl('redis://:pw@r:6379')).toBe('redis://:***@r:6379');
  });
});
