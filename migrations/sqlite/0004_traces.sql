-- One trace per request, when no ClickHouse is configured. Durations are fractional ms.

CREATE TABLE traces (
  request_id        TEXT NOT NULL,
  session_id        TEXT,
  agent             TEXT,
  pat_id            TEXT,
  model             TEXT,
  provider          TEXT,
  stream            INTEGER NOT NULL CHECK (stream IN (0, 1)),
  status            INTEGER NOT NULL,
  error_code        TEXT,
  started_at        INTEGER NOT NULL,
  total_ms          REAL NOT NULL,
  upstream_ttfb_ms  REAL,
  upstream_ms       REAL,
  overhead_ms       REAL NOT NULL,
  stages            TEXT NOT NULL,  -- JSON object: stage name → ms
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  total_tokens      INTEGER,
  bytes_in          INTEGER NOT NULL,
  bytes_out         INTEGER NOT NULL,
  directive_version INTEGER,
  -- Identity: request id (callers may reuse one) + start; a replay repeats both and is skipped.
  PRIMARY KEY (request_id, started_at)
);
CREATE INDEX traces_started ON traces (started_at DESC);
CREATE INDEX traces_agent_started ON traces (agent, started_at DESC);
CREATE INDEX traces_session_started ON traces (session_id, started_at DESC);
