-- Traces partitioned by UTC day of started_at (issue 15): retention drops a whole day's partition
-- instead of deleting its rows one batch at a time. Needs PostgreSQL 11 or later (primary keys on
-- partitioned tables, DEFAULT partitions, ON CONFLICT into a partitioned table).
--
-- The identity (request_id, started_at) already holds the partition key, so the primary key and the
-- sink's `ON CONFLICT (request_id, started_at) DO NOTHING` stay as they are: a replayed trace has the
-- same start, is routed to the same partition and is skipped there.
--
-- Partitions: traces_pYYYYMMDD holds [that UTC day's start, the next day's start) in epoch ms;
-- traces_default takes any row no day partition covers (a late replay of a day already dropped, a
-- clock far off), and retention deletes its expired rows in batches. The gateway creates today's and
-- the next 2 days' partitions after migrating and from its retention job (trace-partitions.ts).
--
-- Existing rows: every UTC day they cover gets its own partition here, rather than all of them going
-- into the default. Postgres scans the default whenever a partition is created (no row of it may
-- belong to the new range), under a lock that holds trace inserts, so the default must stay small;
-- and expired days as partitions go at the next retention run with one DROP each.
--
-- The copy rewrites the table inside this migration's transaction: trace writes wait for it (the
-- gateway queues, then spools them). Indexes are built after the copy, which is faster than
-- maintaining them row by row.

ALTER TABLE traces RENAME TO traces_unpartitioned;

-- Same columns, types, defaults and order as 0004 plus the columns of 0005, 0006, 0010, 0011.
CREATE TABLE traces (
  request_id        TEXT NOT NULL,
  session_id        TEXT,
  agent             TEXT,
  pat_id            TEXT,
  model             TEXT,
  provider          TEXT,
  stream            BOOLEAN NOT NULL,
  status            INTEGER NOT NULL,
  error_code        TEXT,
  started_at        BIGINT NOT NULL,
  total_ms          DOUBLE PRECISION NOT NULL,
  upstream_ttfb_ms  DOUBLE PRECISION,
  upstream_ms       DOUBLE PRECISION,
  overhead_ms       DOUBLE PRECISION NOT NULL,
  stages            JSONB NOT NULL,  -- stage name → ms
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  total_tokens      INTEGER,
  bytes_in          BIGINT NOT NULL,
  bytes_out         BIGINT NOT NULL,
  directive_version INTEGER,
  client_request_id TEXT,
  cached_tokens     INTEGER,
  reasoning_tokens  INTEGER,
  cost_usd          DOUBLE PRECISION,
  served_model      TEXT,
  attempts          TEXT,
  policy_decisions  TEXT,
  cache_status      TEXT
) PARTITION BY RANGE (started_at);

-- A partition per UTC day of the existing rows, and for today and the next 2 days (as the gateway
-- would make them). floor(): a day starts at a multiple of 86,400,000 ms even before 1970.
DO $$
DECLARE
  d BIGINT;
BEGIN
  FOR d IN
    SELECT DISTINCT floor(started_at / 86400000.0)::bigint FROM traces_unpartitioned
    UNION
    SELECT floor(extract(epoch FROM now()) / 86400)::bigint + k FROM generate_series(0, 2) AS k
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF traces FOR VALUES FROM (%s) TO (%s)',
      'traces_p' || to_char(to_timestamp(d * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'),
      d * 86400000, (d + 1) * 86400000);
  END LOOP;
END $$;

CREATE TABLE traces_default PARTITION OF traces DEFAULT;

INSERT INTO traces (
  request_id, session_id, agent, pat_id, model, provider, stream, status, error_code, started_at,
  total_ms, upstream_ttfb_ms, upstream_ms, overhead_ms, stages, prompt_tokens, completion_tokens,
  total_tokens, bytes_in, bytes_out, directive_version, client_request_id, cached_tokens,
  reasoning_tokens, cost_usd, served_model, attempts, policy_decisions, cache_status)
SELECT
  request_id, session_id, agent, pat_id, model, provider, stream, status, error_code, started_at,
  total_ms, upstream_ttfb_ms, upstream_ms, overhead_ms, stages, prompt_tokens, completion_tokens,
  total_tokens, bytes_in, bytes_out, directive_version, client_request_id, cached_tokens,
  reasoning_tokens, cost_usd, served_model, attempts, policy_decisions, cache_status
FROM traces_unpartitioned;

DROP TABLE traces_unpartitioned;

-- The indexes of 0004 and 0005 under their names; on a partitioned table each is created on every
-- partition, present and future.
ALTER TABLE traces ADD PRIMARY KEY (request_id, started_at);
CREATE INDEX traces_started ON traces (started_at DESC);
CREATE INDEX traces_agent_started ON traces (agent, started_at DESC);
CREATE INDEX traces_session_started ON traces (session_id, started_at DESC);
CREATE INDEX traces_client_request ON traces (client_request_id) WHERE client_request_id IS NOT NULL;
