-- One trace per request, when no ClickHouse is configured. Durations are fractional ms.

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
  -- Identity: request id (callers may reuse one) + start; a replay repeats both and is skipped.
  PRIMARY KEY (request_id, started_at)
);
CREATE INDEX traces_started ON traces (started_at DESC);
CREATE INDEX traces_agent_started ON traces (agent, started_at DESC);
CREATE INDEX traces_session_started ON traces (session_id, started_at DESC);
