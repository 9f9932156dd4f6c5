-- Usage and cost (issue 14): the cost of each request in USD (NULL when the model's price is unknown:
-- unknown is not free) and the cached / reasoning parts of its tokens.
--
-- Two processes may migrate at once. Servers that know ADD COLUMN IF NOT EXISTS use it; on older ones
-- (18.16) the runner treats "column already exists" from an ADD COLUMN as done.

-- requires: 20.3
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS cached_tokens Nullable(UInt32);
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS reasoning_tokens Nullable(UInt32);
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS cost_usd Nullable(Float64);

-- else
ALTER TABLE {database}.traces ADD COLUMN cached_tokens Nullable(UInt32);
ALTER TABLE {database}.traces ADD COLUMN reasoning_tokens Nullable(UInt32);
ALTER TABLE {database}.traces ADD COLUMN cost_usd Nullable(Float64);
