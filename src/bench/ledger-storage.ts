// Storage of one long session before and after the content-addressed ledger (issue 15), measured on a
// real database: `before` stores the same checkpoints the way ibex did until 0007 (every checkpoint
// with its whole message history as JSON), `after` through the ledger. SQLite sizes come from the
// dbstat virtual table (bytes of pages used by each table and its indexes), Postgres sizes from
// pg_total_relation_size after VACUUM (page-granular: 8 KiB steps).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { CheckpointInput } from '../stores/ports.js';
import { openSqliteStores } from '../stores/sqlite/index.js';
import { openPostgresStores } from '../stores/postgres/index.js';

export interface LedgerStorageResult {
  store: 'sqlite' | 'postgres';
  turns: number;
  /** UTF-8 bytes of all checkpoints' messages as JSON (what `before` stores) */
  historyBytes: number;
  beforeBytes: number;
  afterBytes: number;
  /** before / after */
  ratio: number;
}

const words = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(seed * 7919 + i * 104729) % 10007}`).join(' ');

/** A realistic chat: a ~1.5 KB directive, ~300 B questions, ~800 B answers, each turn resending the history. */
export function longSession(sessionId: string, agent: string, turns: number, t0 = Date.now()): CheckpointInput[] {
  const history: unknown[] = [{ role: 'system', content: 'You are the support agent. ' + words(250, 1) }];
  const out: CheckpointInput[] = [];
  for (let i = 1; i <= turns; i++) {
    history.push({ role: 'user', content: `Question ${i}: ` + words(50, i * 3) });
    const reply = `Answer ${i}: ` + words(130, i * 5);
    out.push({
      sessionId, agent, patId: 'pat_bench', requestId: `req-${sessionId}-${i}`, clientRequestId: null, model: 'gpt-4o-mini',
      directiveVersion: 1, messages: [...history], reply, finishReason: 'stop',
      usage: { promptTokens: 100 * i, completionTokens: 200, totalTokens: 100 * i + 200 }, costUsd: null, status: 'ok', errorCode: null, stream: false,
      createdAt: t0 + i, protocol: 'openai-chat', upstreamPath: '/chat/completions', provider: 'openai', servedModel: 'gpt-4o-mini',
      upstreamTemplate: '{"model":"gpt-4o-mini","messages":[\u0001*0\u0001],"temperature":0.2}',
    });
    history.push({ role: 'assistant', content: reply });
  }
  return out;
}

const LEGACY_COLS =
  'session_id, seq, request_id, agent, pat_id, model, directive_version, messages, reply, finish_reason, prompt_tokens, completion_tokens, total_tokens, status, error_code, stream, created_at';
const legacyRow = (c: CheckpointInput, seq: number) => [
  c.sessionId, seq, c.requestId, c.agent, c.patId, c.model, c.directiveVersion, JSON.stringify(c.messages), c.reply, c.finishReason,
  c.usage?.promptTokens ?? null, c.usage?.completionTokens ?? null, c.usage?.totalTokens ?? null, c.status, c.errorCode, c.stream, c.createdAt,
];

const SESSION_TABLES = ['sessions', 'checkpoints', 'messages', 'message_sessions'];

export async function measureSqlite(turns: number): Promise<LedgerStorageResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ibex-ledger-bench-'));
  try {
    const size = async (file: string, write: (path: string) => Promise<void>) => {
      const path = join(dir, file);
      const stores = await openSqliteStores(path);
      await stores.migrate();
      await write(path);
      await stores.close();
      const db = new Database(path);
      db.exec('VACUUM');
      const placeholders = SESSION_TABLES.map(() => '?').join(', ');
      // Each table with its indexes (and autoindexes), by the pages they use.
      const row = db
        .prepare(
          `SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN (${placeholders})
             OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (${placeholders}))`,
        )
        .get(...SESSION_TABLES, ...SESSION_TABLES) as { bytes: number };
      db.close();
      return row.bytes;
    };
    const cps = longSession('ses_bench', 'bench', turns);
    const before = await size('before.db', async (path) => {
      const db = new Database(path);
      db.prepare(`INSERT INTO sessions (id, agent, pat_id, created_at, updated_at, turns) VALUES ('ses_bench', 'bench', 'p', 0, 0, ?)`).run(turns);
      const ins = db.prepare(`INSERT INTO checkpoints (${LEGACY_COLS}) VALUES (${LEGACY_COLS.split(', ').map(() => '?').join(', ')})`);
      // messages kept in full, as before 0007 (a row without message_refs is a pre-ledger row)
      db.transaction(() => cps.forEach((c, i) => ins.run(...legacyRow(c, i + 1).map((v) => (typeof v === 'boolean' ? Number(v) : v)))))();
      db.close();
    });
    const after = await size('after.db', async (path) => {
      const stores = await openSqliteStores(path);
      await stores.sessions.appendCheckpoints(cps);
      await stores.close();
    });
    return result('sqlite', turns, cps, before, after);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measurePostgres(adminUrl: string, turns: number): Promise<LedgerStorageResult> {
  const cps = longSession('ses_bench', 'bench', turns);
  const size = async (write: (url: string) => Promise<void>) => {
    const name = `ibex_ledger_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(adminUrl);
    u.pathname = '/' + name;
    try {
      const stores = await openPostgresStores(u.toString());
      await stores.migrate();
      await stores.close();
      await write(u.toString());
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      await c.query('VACUUM FULL');
      const { rows } = await c.query<{ bytes: string }>(
        `SELECT SUM(pg_total_relation_size(t::regclass))::bigint AS bytes FROM unnest($1::text[]) t`,
        [SESSION_TABLES],
      );
      await c.end();
      return Number(rows[0]!.bytes);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => admin.query(`DROP DATABASE IF EXISTS ${name}`));
      await admin.end();
    }
  };
  const before = await size(async (url) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`INSERT INTO sessions (id, agent, pat_id, created_at, updated_at, turns) VALUES ('ses_bench', 'bench', 'p', 0, 0, $1)`, [turns]);
    for (const [i, cp] of cps.entries()) {
      await c.query(`INSERT INTO checkpoints (${LEGACY_COLS}) VALUES (${LEGACY_COLS.split(', ').map((_, j) => `$${j + 1}`).join(', ')})`, legacyRow(cp, i + 1));
    }
    await c.end();
  });
  const after = await size(async (url) => {
    const stores = await openPostgresStores(url);
    await stores.sessions.appendCheckpoints(cps);
    await stores.close();
  });
  return result('postgres', turns, cps, before, after);
}

function result(store: 'sqlite' | 'postgres', turns: number, cps: CheckpointInput[], before: number, after: number): LedgerStorageResult {
  const historyBytes = cps.reduce((n, c) => n + Buffer.byteLength(JSON.stringify(c.messages)), 0);
  return { store, turns, historyBytes, beforeBytes: before, afterBytes: after, ratio: Math.round((before / after) * 10) / 10 };
}
