-- The caller's X-Request-Id beside ibex's own id (issue 11): NULL when the caller sent none. Looked
-- up by `ibex traces list --request-id ID` (an operator's occasional query: no skipping index, which
-- the oldest supported server lacks).
--
-- Two processes may migrate at once. Servers that know ADD COLUMN IF NOT EXISTS use it; on older ones
-- (18.16) the runner treats "column already exists" from an ADD COLUMN as done.

-- requires: 20.3
ALTER TABLE {database}.traces ADD COLUMN IF NOT EXISTS client_request_id Nullable(String);

-- else
ALTER TABLE {database}.traces ADD COLUMN client_request_id Nullable(String);
