-- Agents, personal access tokens and the revocation log (milestone 2.2).
-- Times are epoch milliseconds (BIGINT).

CREATE TABLE agents (
  name        TEXT PRIMARY KEY,
  description TEXT,
  rpm         INTEGER,
  enabled     BOOLEAN NOT NULL DEFAULT TRUE,
  created_at  BIGINT NOT NULL
);

-- `seq` is the creation order. It is assigned as max+1 under a transaction-scoped advisory lock
-- (not a sequence: sequence values can commit out of order), so `createdSince(cursor)` never
-- skips a token whose transaction committed after a later-numbered one.
CREATE TABLE pats (
  id         TEXT PRIMARY KEY,
  seq        BIGINT NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,
  name       TEXT,
  rpm        INTEGER,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
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

-- Append-only; every replica polls `seq > cursor`. Same rule as pats.seq: assigned max+1 under
-- an advisory lock so commit order equals seq order and a poller never skips an event.
CREATE TABLE revocations (
  seq     BIGINT PRIMARY KEY,
  kind    TEXT NOT NULL CHECK (kind IN ('pat', 'agent')),
  subject TEXT NOT NULL,
  pat_id  TEXT,
  at      BIGINT NOT NULL
);
