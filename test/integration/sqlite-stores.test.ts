// Every relational contract suite against the SQLite adapter (a fresh temp file per test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStores } from '../../src/stores/sqlite/index.js';
import { agentStoreContract } from '../contracts/agent-store.js';
import { directiveStoreContract } from '../contracts/directive-store.js';
import type { OpenRelational } from '../contracts/relational-harness.js';
import { revocationLogContract } from '../contracts/revocation-log.js';
import { sessionStoreContract } from '../contracts/session-store.js';
import { tokenStoreContract } from '../contracts/token-store.js';
import { traceSinkContract } from '../contracts/trace-sink.js';
import { sessionPageContract } from '../contracts/session-page.js';
import { tracePageContract } from '../contracts/trace-page.js';
import Database from 'better-sqlite3';
import { ledgerContract } from '../contracts/ledger.js';

const open: OpenRelational = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ibex-sqlite-'));
  const path = join(dir, 'ibex.db');
  const stores = await openSqliteStores(path);
  await stores.migrate();
  return {
    stores,
    // A second connection, like a person running sqlite3 on the file.
    exec: async (sql) => {
      const raw = new Database(path);
      try {
        raw.exec(sql);
      } finally {
        raw.close();
      }
    },
    query: async (sql) => {
      const raw = new Database(path, { readonly: true });
      try {
        return raw.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        raw.close();
      }
    },
    cleanup: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

agentStoreContract('sqlite', open);
tokenStoreContract('sqlite', open);
revocationLogContract('sqlite', open);
directiveStoreContract('sqlite', open);
sessionStoreContract('sqlite', open);
traceSinkContract('sqlite', open);
ledgerContract('sqlite', open);
sessionPageContract('sqlite', open);
tracePageContract('sqlite', async () => {
  const h = await open();
  return { sink: h.stores.traces, cleanup: () => h.cleanup() };
});
