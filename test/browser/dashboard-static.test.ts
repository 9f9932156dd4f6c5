// The /dashboard static handler without a browser: a checkout that was not built gets a page saying
// so; a built one gets its files with the right types, caching and CSP, and nothing outside them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, registerDashboardRoutes } from '../../src/server/routes/dashboard.js';

describe('/dashboard static handler', () => {
  it('answers 404 with a page naming `npm run build` when the dashboard is not built', async () => {
    const app = Fastify();
    registerDashboardRoutes(app, { dir: join(tmpdir(), 'ibex-no-such-dashboard-dir') });
    for (const url of ['/dashboard', '/dashboard/', '/dashboard/assets/index.js']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('npm run build');
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    }
  });

  it('serves only the built files: index no-cache, assets immutable, the rest 404', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-dash-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'assets/app-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt.bak'), 'no');
    writeFileSync(join(dir, '..', 'outside.txt'), 'SECRET-OUTSIDE-CONTENT');
    const app = Fastify();
    registerDashboardRoutes(app, { dir });

    const index = await app.inject({ url: '/dashboard/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await app.inject({ url: '/dashboard/index.html' })).body).toBe(index.body);

    const js = await app.inject({ url: '/dashboard/assets/app-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    for (const url of ['/dashboard/assets/nope.js', '/dashboard/../outside.txt', '/dashboard/%2e%2e/outside.txt', '/dashboard/assets/..%2F..%2Foutside.txt']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('SECRET-OUTSIDE-CONTENT');
    }
  });
});
