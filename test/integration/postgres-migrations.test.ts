// Postgres specifics: opening never migrates, replicas migrating together apply each file once
// (advisory lock), a failing migration leaves nothing, TRUNCATE of directives is refused, and an
// outage (refused, silent or frozen server, killed connections) makes calls fail fast without
// crashing the process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePat } from '../../src/auth/pat.js';
import { loadMigrations, migrationsDir } from '../../src/stores/migrations.js';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import { createTestDatabase, describeWithPostgres, POSTGRES_ADMIN_URL, type TestDatabase } from '../helpers/postgres.js';

const SHIPPED = ['0001_identity', '0002_directives', '0003_sessions', '0004_traces', '0005_client_request_id', '0006_usage_cost', '0007_ledger', '0008_directive_deploys', '0010_served_model_attempts', '0011_policy_decisions', '0012_traces_partitioned', '0013_response_links'];

describe('postgres: offline behaviour', () => {
  it('ships the postgres migration files in order, directives and sessions in their own files', () => {
    expect(loadMigrations(migrationsDir('postgres')).map((m) => m.name)).toEqual(SHIPPED);
  });

  it('describes itself without user or password, and opening does not connect', async () => {
    const stores = await openPostgresStores('postgres://ibex:s3cret@db.internal:6543/ibex_prod');
    expect(stores.describe()).toBe('storage: postgres postgres://db.internal:6543/ibex_prod');
    expect(stores.describe()).not.toMatch(/s3cret|ibex:/);
    await stores.close();
    await stores.close(); // idempotent
  });

  it('a refused connection rejects at once and ready() says so', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const stores = await openPostgresStores(`postgres://postgres@127.0.0.1:${port}/nothing`);
    try {
      const t0 = Date.now();
      await expect(stores.agents.list()).rejects.toThrow(/ECONNREFUSED/);
      const [check] = await stores.ready();
      expect(check).toMatchObject({ name: 'storage', ok: false });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await stores.close();
    }
  });

  it('a server that accepts but never answers rejects within the connect timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as net.AddressInfo;
    const stores = await openPostgresStores(`postgres://postgres@127.0.0.1:${port}/nothing`, { connectionTimeoutMs: 500 });
    try {
      const t0 = Date.now();
      await expect(stores.directives.current('a')).rejects.toThrow(/timeout/i);
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      await stores.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describeWithPostgres('postgres: migrations and outages', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('migrations');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('opening does not migrate; two replicas migrating at once apply each file exactly once', async () => {
    const lines: string[] = [];
    const a = await openPostgresStores(database.url, { log: (l) => lines.push(l) });
    const b = await openPostgresStores(database.url, { log: (l) => lines.push(l) });
    try {
      expect((await a.migrationStatus()).map((s) => [s.name, s.applied])).toEqual(SHIPPED.map((n) => [n, false]));
      expect((await a.ready())[0]).toMatchObject({ name: 'storage', ok: false, detail: expect.stringMatching(new RegExp(`${SHIPPED.length} migration\\(s\\) pending`)) });
      await expect(a.agents.list()).rejects.toThrow(/does not exist/);

      const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
      expect([...ra, ...rb].sort()).toEqual(SHIPPED);
      expect(lines.filter((l) => l.includes('migration applied'))).toHaveLength(SHIPPED.length);
      expect(await a.migrate()).toEqual([]);
      const status = await b.migrationStatus();
      expect(status.map((s) => s.name)).toEqual(SHIPPED);
      expect(status.every((s) => s.applied && typeof s.appliedAt === 'number')).toBe(true);
      expect(await a.ready()).toEqual([{ name: 'storage', ok: true, detail: expect.stringContaining('postgres postgres://127.0.0.1:5432/') }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a failing migration is rolled back whole and not recorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibex-pg-mig-'));
    const db = await createTestDatabase('badmig');
    try {
      mkdirSync(join(dir, 'm'));
      writeFileSync(join(dir, 'm', '0001_ok.sql'), 'CREATE TABLE one (x INTEGER);');
      writeFileSync(join(dir, 'm', '0002_bad.sql'), 'CREATE TABLE two (x INTEGER);\nINSERT INTO nowhere VALUES (1);');
      const stores = await openPostgresStores(db.url, { migrationsDir: join(dir, 'm') });
      try {
        await expect(stores.migrate()).rejects.toThrow(/0002_bad.*nowhere/);
        expect((await stores.migrationStatus()).map((s) => [s.name, s.applied])).toEqual([
          ['0001_ok', true],
          ['0002_bad', false],
        ]);
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const { rows } = await client.query("SELECT to_regclass('one')::text AS one, to_regclass('two')::text AS two");
        await client.end();
        expect(rows[0]).toEqual({ one: 'one', two: null });
      } finally {
        await stores.close();
      }
    } finally {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on the migrated database', () => {
    beforeAll(async () => {
      const s = await openPostgresStores(database.url);
      await s.migrate();
      await s.close();
    });

    it('refuses TRUNCATE of directives', async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await expect(client.query('TRUNCATE directives')).rejects.toThrow(/immutable/);
      } finally {
        await client.end();
      }
    });

    it('two replicas appending directives, revocations and PATs at once keep every sequence gap-free', async () => {
      const a = await openPostgresStores(database.url);
      const b = await openPostgresStores(database.url);
      try {
        await a.agents.create({ name: 'shared' });
        const head = await a.revocations.head();
        const cursor = (await a.tokens.createdSince(0)).cursor;
        const replicas = [a, b];
        const directives = await Promise.all(
          Array.from({ length: 16 }, (_, i) => replicas[i % 2]!.directives.append('shared', `v from ${i}`)),
        );
        expect(directives.map((d) => d.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));

        const events = await Promise.all(
          Array.from({ length: 16 }, (_, i) => replicas[i % 2]!.revocations.append({ kind: 'agent', subject: `s${i}` })),
        );
        expect(events.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => head + i + 1));

        const pats = await Promise.all(
          Array.from({ length: 12 }, (_, i) => {
            const { id, prefix, hash } = generatePat();
            return replicas[i % 2]!.tokens.create({ id, prefix, hash, agents: ['shared'] });
          }),
        );
        const since = await b.tokens.createdSince(cursor);
        expect(since.cursor).toBe(cursor + 12);
        expect([...since.hashes].sort()).toEqual(pats.map((p) => p.hash).sort());
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('two replicas flushing checkpoints of one session at once: gap-free seq, batches kept whole', async () => {
      const a = await openPostgresStores(database.url);
      const b = await openPostgresStores(database.url);
      try {
        // One start time per batch: sessions read in start-time order (ADR 0007), and two Date.now()
        // calls across a millisecond tick would let another batch's checkpoint sort in between.
        const batch = (n: number, at = Date.now()) =>
          [n, n + 100].map((k) => ({
            sessionId: 'shared-session',
            agent: 'shared',
            patId: `pat_${k}`,
            requestId: `req-${k}`,
            clientRequestId: null,
            model: 'm',
            directiveVersion: null,
            messages: [{ role: 'user', content: `from ${k}` }],
            reply: `r${k}`,
            finishReason: 'stop',
            usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
            costUsd: null,
            status: 'ok' as const,
            errorCode: null,
            stream: false,
            createdAt: at,
          }));
        await Promise.all(Array.from({ length: 16 }, (_, i) => [a, b][i % 2]!.sessions.appendCheckpoints(batch(i))));
        const cps = await a.sessions.checkpoints('shared-session');
        expect(cps.map((c) => c.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
        for (let i = 0; i < 16; i++) {
          const at = cps.findIndex((c) => c.requestId === `req-${i}`);
          expect(cps[at + 1]?.requestId).toBe(`req-${i + 100}`);
        }
        expect(await b.sessions.getSession('shared-session')).toMatchObject({ turns: 32, completionTokens: 64, totalTokens: 96 });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a NUL character in a reply or in messages does not poison the checkpoint batch', async () => {
      const stores = await openPostgresStores(database.url);
      try {
        const base = {
          sessionId: 'nul-session', agent: 'shared', patId: 'pat_1', clientRequestId: null, model: null, directiveVersion: null,
          finishReason: null, usage: null, costUsd: null, status: 'ok' as const, errorCode: null, stream: true, createdAt: Date.now(),
        };
        await stores.sessions.appendCheckpoints([
          { ...base, requestId: 'nul-1', messages: [{ role: 'user', content: 'a\u0000b' }], reply: 'x\u0000y' },
          { ...base, requestId: 'nul-2', messages: [], reply: 'fine' },
        ]);
        const [a, b] = await stores.sessions.checkpoints('nul-session');
        expect(a?.messages).toEqual([{ role: 'user', content: 'a\uFFFDb' }]); // cleaned like all stored text (store-text.ts)
        expect(a?.reply).toBe('x\uFFFDy'); // text cannot hold NUL: replaced, not dropped
        expect(b?.reply).toBe('fine');
      } finally {
        await stores.close();
      }
    });

    it('a connection killed by the server is logged, not fatal; the next call reconnects', async () => {
      const lines: string[] = [];
      const stores = await openPostgresStores(database.url, { log: (l) => lines.push(l) });
      try {
        await stores.agents.list(); // leaves an idle pooled connection
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await admin.connect();
        const { rowCount } = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ibex'",
          [database.name],
        );
        await admin.end();
        expect(rowCount).toBeGreaterThan(0);
        const deadline = Date.now() + 3000;
        while (!lines.some((l) => l.includes('connection lost')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(lines.some((l) => l.includes('storage: postgres connection lost'))).toBe(true);
        expect(Array.isArray(await stores.agents.list())).toBe(true);
      } finally {
        await stores.close();
      }
    });

    it('a server that stops answering mid-life makes calls reject within the query timeout', async () => {
      const target = new URL(database.url);
      let frozen = false;
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((client) => {
        const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
        sockets.add(client).add(upstream);
        client.on('data', (d) => frozen || upstream.write(d));
        upstream.on('data', (d) => frozen || client.write(d));
        const drop = () => (client.destroy(), upstream.destroy());
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
      const url = new URL(database.url);
      url.hostname = '127.0.0.1';
      url.port = String((proxy.address() as net.AddressInfo).port);
      const stores = await openPostgresStores(url.toString(), { queryTimeoutMs: 700, connectionTimeoutMs: 700 });
      try {
        expect(Array.isArray(await stores.agents.list())).toBe(true);
        frozen = true;
        const t0 = Date.now();
        await expect(stores.agents.list()).rejects.toThrow(/timeout/i);
        await expect(stores.directives.append('shared', 'x')).rejects.toThrow(/timeout/i);
        expect(Date.now() - t0).toBeLessThan(3000);
        expect((await stores.ready())[0]?.ok).toBe(false);
      } finally {
        await Promise.race([stores.close(), new Promise((r) => setTimeout(r, 1000))]);
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => proxy.close(() => r()));
      }
    });
  });
});
