-- Many providers (issue 13): which target of a fallback chain served a request (`model` stays what the
-- caller asked for), and the attempts that failed before it, as JSON text ([{"provider","model","error"}];
-- NULL when the first target served).
--
-- Two processes may migrate at once: servers without ADD COLUMN IF NOT EXISTS (18.16) have the runner
-- treat "column already exists" as done.

-- requires: 20.3
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS served_model LowCardinality(Nullable(String));
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS attempts Nullable(String);

-- else
ALTER TABLE {database}.traces ADD COLUMN served_model Nullable(String);
ALTER TABLE {database}.traces ADD COLUMN attempts Nullable(String);
