-- The caller's X-Request-Id beside ibex's own id (issue 11): NULL when the caller sent none. The
-- record's identity stays (request_id, started_at / created_at); this column is for finding a
-- request a user reports (`ibex traces list --request-id ID`). Adding a NULL column rewrites nothing.

ALTER TABLE traces ADD COLUMN client_request_id TEXT;
ALTER TABLE checkpoints ADD COLUMN client_request_id TEXT;
-- Partial: most callers send no id, and only a lookup by a given id uses this.
CREATE INDEX traces_client_request ON traces (client_request_id) WHERE client_request_id IS NOT NULL;
