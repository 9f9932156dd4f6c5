-- Versioned directives (milestone 2.3.1). A row is never changed once written: a new text is a new
-- version, a rollback copies an old text into a new version. The trigger makes the schema itself
-- refuse UPDATE, DELETE and TRUNCATE, so no code path (or hand-run SQL) can rewrite history.

CREATE TABLE directives (
  agent      TEXT NOT NULL REFERENCES agents (name),
  version    INTEGER NOT NULL CHECK (version >= 1),
  text       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (agent, version)
);

CREATE FUNCTION ibex_directives_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'directives are immutable: append a new version instead'
    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER directives_no_update_delete BEFORE UPDATE OR DELETE ON directives
  FOR EACH ROW EXECUTE FUNCTION ibex_directives_immutable();

CREATE TRIGGER directives_no_truncate BEFORE TRUNCATE ON directives
  FOR EACH STATEMENT EXECUTE FUNCTION ibex_directives_immutable();
