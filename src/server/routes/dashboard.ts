// `/dashboard`: the web dashboard's static files, built by `npm run build` (vite) into dist/dashboard.
//
// The handler serves only the files that were in that folder when the gateway started (a fixed
// list, so no request path ever reaches the file system), from memory: the whole bundle is a few
// tens of KiB. Hashed assets are cached for a year; index.html is revalidated every time so a new
// build is picked up at once. Every answer carries a strict CSP: the dashboard holds the admin
// token, so it runs only its own scripts and talks only to this origin.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const DASHBOARD_PATH = '/dashboard';

export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface DashboardRoutesOptions {
  /** The built dashboard; default dist/dashboard of the package this file belongs to. */
  dir?: string;
}

interface StaticFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

export function registerDashboardRoutes(app: FastifyInstance, opts: DashboardRoutesOptions = {}): void {
  const dir = opts.dir ?? defaultDashboardDir();
  const files = loadFiles(dir);
  const index = files.get('index.html');

  const send = (reply: FastifyReply, file: StaticFile) =>
    securityHeaders(reply)
      .header('content-type', file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(file.body);

  const notBuilt = (reply: FastifyReply) =>
    securityHeaders(reply).code(404).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuiltPage(dir));

  const serveIndex = (_req: unknown, reply: FastifyReply) => (index ? send(reply, index) : notBuilt(reply));
  app.get(DASHBOARD_PATH, serveIndex);
  app.get(`${DASHBOARD_PATH}/`, serveIndex);
  app.get(`${DASHBOARD_PATH}/*`, (req, reply) => {
    if (!index) return notBuilt(reply);
    const path = (req.params as { '*': string })['*'];
    const file = files.get(path);
    if (!file) {
      return securityHeaders(reply).code(404).header('content-type', 'text/plain; charset=utf-8').send('Not found\n');
    }
    return send(reply, file);
  });
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/** Every file under `dir`, keyed by its path relative to it with '/' separators; empty when the folder is missing. */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return files;
  }
  for (const name of names) {
    const full = join(dir, name);
    if (!statSync(full).isFile()) continue;
    const key = relative(dir, full).split(sep).join('/');
    files.set(key, {
      body: readFileSync(full),
      type: CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
      // vite names everything under assets/ by content hash
      immutable: key.startsWith('assets/'),
    });
  }
  return files;
}

/** dist/dashboard next to the package.json above this file (this file runs from src/ in tests, from dist/src/ when built). */
function defaultDashboardDir(): string {
  let dir = import.meta.dirname;
  for (;;) {
    try {
      if (statSync(join(dir, 'package.json')).isFile()) return join(dir, 'dist', 'dashboard');
    } catch {
      // not here; go up
    }
    const up = dirname(dir);
    if (up === dir) return join(import.meta.dirname, '..', '..', '..', 'dashboard');
    dir = up;
  }
}

function notBuiltPage(dir: string): string {
  const escaped = dir.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ibex dashboard not built</title></head>
<body>
<h1>The ibex dashboard is not built</h1>
<p>This gateway has no dashboard files in <code>${escaped}</code>.</p>
<p>Run <code>npm run build</code> in the ibex package folder, then restart the gateway.</p>
</body></html>
`;
}
