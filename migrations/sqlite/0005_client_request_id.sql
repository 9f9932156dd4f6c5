-- The caller's X-Request-Id beside ibex's own id (issue 11): NULL when the caller sent none. The
-- record's identity stays (request_id, started_at / created_at); this column is for finding a
-- request a user reports (`ibex traces list --request-id ID`).

ALTER TABLE traces ADD COLUMN client_request_id TEXT;
ALTER TABLE checkpoints ADD COLUMN client_request_id TEXT;
CREATE INDEX traces_client_request ON traces (client_request_id);
