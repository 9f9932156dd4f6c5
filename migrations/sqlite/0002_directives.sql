-- Versioned directives (milestone 2.3.1). A row is never changed once written: a new text is a new
-- version, a rollback copies an old text into a new version. The triggers make the schema itself
-- refuse UPDATE and DELETE, so no code path (or hand-run SQL) can rewrite history.

CREATE TABLE directives (
  agent      TEXT NOT NULL REFERENCES agents (name),
  version    INTEGER NOT NULL CHECK (version >= 1),
  text       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (agent, version)
);

CREATE TRIGGER directives_no_update BEFORE UPDATE ON directives
BEGIN
  SELECT RAISE(ABORT, 'directives are immutable: append a new version instead');
END;

CREATE TRIGGER directives_no_delete BEFORE DELETE ON directives
BEGIN
  SELECT RAISE(ABORT, 'directives are immutable: append a new version instead');
END;
