// Every relational contract suite against the Postgres adapter. One fresh database for the file;
// the suites make uniquely named rows, so they share it (as replicas share production's).
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openPostgresStores } from '../../src/stores/postgres/index.js';
import { pgTypes } from '../../src/stores/postgres/db.js';
import { ledgerContract } from '../contracts/ledger.js';
import { agentStoreContract } from '../contracts/agent-store.js';
import { directiveStoreContract } from '../contracts/directive-store.js';
import type { OpenRelational } from '../contracts/relational-harness.js';
import { revocationLogContract } from '../contracts/revocation-log.js';
import { sessionStoreContract } from '../contracts/session-store.js';
import { tokenStoreContract } from '../contracts/token-store.js';
import { traceSinkContract } from '../contracts/trace-sink.js';
import { sessionPageContract } from '../contracts/session-page.js';
import { tracePageContract } from '../contracts/trace-page.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../helpers/postgres.js';

describeWithPostgres('postgres stores', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('stores');
    const stores = await openPostgresStores(database.url);
    await stores.migrate();
    await stores.close();
  });

  afterAll(async () => {
    await database?.drop();
  });

  const open: OpenRelational = async () => {
    const stores = await openPostgresStores(database.url);
    return {
      stores,
      exec: async (sql) => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      query: async (sql) => {
        const client = new pg.Client({ connectionString: database.url, types: pgTypes });
        await client.connect();
        try {
          return (await client.query(sql)).rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      },
      cleanup: () => stores.close(),
    };
  };

  agentStoreContract('postgres', open);
  tokenStoreContract('postgres', open);
  revocationLogContract('postgres', open);
  directiveStoreContract('postgres', open);
  sessionStoreContract('postgres', open);
  traceSinkContract('postgres', open);
  ledgerContract('postgres', open);
  sessionPageContract('postgres', open);
  tracePageContract('postgres', async () => {
    const h = await open();
    return { sink: h.stores.traces, cleanup: () => h.cleanup() };
  });
});
