// The admin token for /admin/*: IBEX_ADMIN_TOKEN, else generated once into $IBEX_HOME/admin-token
// (mode 0600) so `ibex tail` on the same machine finds it.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IbexConfig } from './config.js';

export function adminTokenPath(home: string): string {
  return join(home, 'admin-token');
}

export function ensureAdminToken(config: IbexConfig): string {
  if (config.adminToken) return config.adminToken;
  const path = adminTokenPath(config.home);
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing) return existing;
  }
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const token = 'ibex_admin_' + randomBytes(24).toString('base64url');
  // wx: never overwrite one another process just wrote; re-read it instead.
  try {
    writeFileSync(path, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch {
    return readFileSync(path, 'utf8').trim();
  }
  chmodSync(path, 0o600);
  return token;
}

export function readAdminToken(config: IbexConfig): string | null {
  if (config.adminToken) return config.adminToken;
  try {
    return readFileSync(adminTokenPath(config.home), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
