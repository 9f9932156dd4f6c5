-- Agents, personal access tokens and the revocation log (milestone 2.2).
-- Times are epoch milliseconds.

CREATE TABLE agents (
  name        TEXT PRIMARY KEY,
  description TEXT,
  rpm         INTEGER,
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at  INTEGER NOT NULL
);

-- `seq` is the creation order (assigned inside the write transaction, which SQLite serializes),
-- so `createdSince(cursor)` never skips a token that committed late.
CREATE TABLE pats (
  id         TEXT PRIMARY KEY,
  seq        INTEGER NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,
  name       TEXT,
  rpm        INTEGER,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX pats_prefix ON pats (prefix);

-- The agents a token may act for, in the order they were given.
CREATE TABLE pat_agents (
  pat_id   TEXT NOT NULL REFERENCES pats (id),
  agent    TEXT NOT NULL REFERENCES agents (name),
  position INTEGER NOT NULL,
  PRIMARY KEY (pat_id, agent)
);
CREATE INDEX pat_agents_agent ON pat_agents (agent);

-- Append-only: every replica polls `seq > cursor` as the backstop to pushed revocations.
CREATE TABLE revocations (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  kind    TEXT NOT NULL CHECK (kind IN ('pat', 'agent')),
  subject TEXT NOT NULL,
  pat_id  TEXT,
  at      INTEGER NOT NULL
);
