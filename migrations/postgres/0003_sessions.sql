-- Sessions and their checkpoints (milestone 2.4.1). No foreign key to agents: a checkpoint records
-- what happened, including requests for agents that were later disabled.

CREATE TABLE sessions (
  id                TEXT PRIMARY KEY,
  agent             TEXT NOT NULL,
  pat_id            TEXT NOT NULL,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  turns             INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens      BIGINT NOT NULL DEFAULT 0,
  status            TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX sessions_updated ON sessions (updated_at DESC);
CREATE INDEX sessions_agent_updated ON sessions (agent, updated_at DESC);

CREATE TABLE checkpoints (
  session_id        TEXT NOT NULL REFERENCES sessions (id),
  seq               INTEGER NOT NULL,
  request_id        TEXT NOT NULL,
  agent             TEXT NOT NULL,
  pat_id            TEXT NOT NULL,
  model             TEXT,
  directive_version INTEGER,
  messages          JSON NOT NULL,  -- JSON (not JSONB): kept exactly as sent upstream
  reply             TEXT,
  finish_reason     TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  total_tokens      INTEGER,
  status            TEXT NOT NULL,
  error_code        TEXT,
  stream            BOOLEAN NOT NULL,
  created_at        BIGINT NOT NULL,
  PRIMARY KEY (session_id, seq),
  -- A record's identity: the request id (which callers may reuse) and the request's start. A replayed
  -- batch repeats both and is skipped; a new request reusing an id is a new checkpoint.
  UNIQUE (request_id, created_at)
);
