import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, UserError } from '../../src/errors.js';
import { defaultGatewayUrl, parseGatewayUrl, resolveAdminToken } from '../../src/tail/target.js';

describe('defaultGatewayUrl', () => {
  it('uses the configured host and port, reaching wildcard addresses via loopback', () => {
    expect(defaultGatewayUrl({ host: '127.0.0.1', port: 8787 })).toBe('http://127.0.0.1:8787');
    expect(defaultGatewayUrl({ host: '0.0.0.0', port: 9000 })).toBe('http://127.0.0.1:9000');
    expect(defaultGatewayUrl({ host: '::', port: 1 })).toBe('http://[::1]:1');
    expect(defaultGatewayUrl({ host: 'fe80::2', port: 1 })).toBe('http://[fe80::2]:1');
  });
});

describe('parseGatewayUrl', () => {
  it('accepts http(s) and strips trailing slashes; rejects the rest as usage errors', () => {
    expect(parseGatewayUrl('http://h:1/')).toBe('http://h:1');
    expect(() => parseGatewayUrl('not a url')).toThrow(UsageError);
    expect(() => parseGatewayUrl('ftp://h')).toThrow(UsageError);
  });
});

describe('resolveAdminToken', () => {
  const home = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ibex-tail-token-'));

  it('prefers the flag, then the config, then $IBEX_HOME/admin-token', () => {
    const dir = home();
    fs.writeFileSync(path.join(dir, 'admin-token'), 'from-file\n');
    expect(resolveAdminToken('from-flag', { home: dir, adminToken: 'from-config' })).toBe('from-flag');
    expect(resolveAdminToken(undefined, { home: dir, adminToken: 'from-config' })).toBe('from-config');
    expect(resolveAdminToken(undefined, { home: dir })).toBe('from-file');
  });

  it('explains how to get a token when the file is missing or empty', () => {
    const dir = home();
    let err: unknown;
    try {
      resolveAdminToken(undefined, { home: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain(path.join(dir, 'admin-token'));
    expect((err as UserError).hint).toMatch(/ibex serve/);
    fs.writeFileSync(path.join(dir, 'admin-token'), '  \n');
    expect(() => resolveAdminToken(undefined, { home: dir })).toThrow(/empty/);
  });
});
