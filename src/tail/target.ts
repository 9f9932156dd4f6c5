// Where `ibex tail` connects and with which admin token: --url/--token flags first, then the
// config (IBEX_HOST/IBEX_PORT, IBEX_ADMIN_TOKEN), then the token file the gateway writes into
// $IBEX_HOME on first start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IbexConfig } from '../config.js';
import { UsageError, UserError } from '../errors.js';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** http://host:port of the local gateway; a wildcard listen address is reached via loopback. */
export function defaultGatewayUrl(config: Pick<IbexConfig, 'host' | 'port'>): string {
  let host = config.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${config.port}`;
}

export function parseGatewayUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid --url: ${raw}`, 'expected something like http://127.0.0.1:8787');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid --url protocol ${url.protocol}`, 'use an http:// or https:// URL');
  }
  return raw.replace(/\/+$/, '');
}

export function resolveAdminToken(flag: string | undefined, config: Pick<IbexConfig, 'adminToken' | 'home'>): string {
  if (flag) return flag;
  if (config.adminToken) return config.adminToken;
  const file = join(config.home, ADMIN_TOKEN_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `no admin token: ${file} does not exist` : `cannot read the admin token file ${file} (${code ?? 'error'})`,
      'start the gateway once (`ibex serve`) to create it, or pass --token / set IBEX_ADMIN_TOKEN',
    );
  }
  const token = text.trim();
  if (!token) {
    throw new UserError(`the admin token file ${file} is empty`, 'delete it and restart `ibex serve`, or pass --token');
  }
  return token;
}
