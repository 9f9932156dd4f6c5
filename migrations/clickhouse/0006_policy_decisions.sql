-- Policies and the response cache (issue 17): what every policy changed, held or blocked in a request,
-- as JSON text ([{"policy","phase","action","detail"}]; NULL when no policy acted), and the cache's
-- answer (`hit` / `miss`; NULL when the agent has no cache).
--
-- Two processes may migrate at once: servers without ADD COLUMN IF NOT EXISTS (18.16) have the runner
-- treat "column already exists" as done.

-- requires: 20.3
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS policy_decisions Nullable(String);
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS cache_status LowCardinality(Nullable(String));

-- else
ALTER TABLE {database}.traces ADD COLUMN policy_decisions Nullable(String);
ALTER TABLE {database}.traces ADD COLUMN cache_status Nullable(String);
