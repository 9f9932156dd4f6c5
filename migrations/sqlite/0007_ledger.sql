-- The session ledger (issue 15; docs/adr/0010-content-addressed-ledger.md).
--
-- Every turn resends the whole conversation, so storing each checkpoint's messages in full grows as
-- O(turns²). Each distinct message is now stored once in `messages` (keyed by the SHA-256 of its JSON
-- text as sent upstream) and a checkpoint keeps the ordered list of their ids. `message_sessions`
-- says which sessions use a message, so a message whose sessions are all gone (retention) can be
-- found with an index and deleted.
--
-- Rows written before this migration keep their JSON in `checkpoints.messages` with
-- `message_refs` NULL; `ibex migrate` (and `ibex serve`) convert them in bounded batches right after
-- this file runs (src/ledger/convert.ts). New rows write '[]' there.

CREATE TABLE messages (
  id         INTEGER PRIMARY KEY,
  hash       TEXT NOT NULL UNIQUE,  -- hex SHA-256 of `body`
  body       TEXT NOT NULL,         -- the message's JSON text, exactly as it was inside the upstream body
  bytes      INTEGER NOT NULL,      -- UTF-8 size of body
  created_at INTEGER NOT NULL
);

CREATE TABLE message_sessions (
  session_id TEXT NOT NULL,
  message_id INTEGER NOT NULL REFERENCES messages (id),
  PRIMARY KEY (session_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_sessions_message ON message_sessions (message_id);

ALTER TABLE checkpoints ADD COLUMN message_refs TEXT;       -- JSON array of messages.id, in order
ALTER TABLE checkpoints ADD COLUMN message_count INTEGER;
ALTER TABLE checkpoints ADD COLUMN protocol TEXT;           -- openai-chat, openai-responses, …
ALTER TABLE checkpoints ADD COLUMN upstream_path TEXT;      -- /chat/completions, /responses
ALTER TABLE checkpoints ADD COLUMN provider TEXT;
ALTER TABLE checkpoints ADD COLUMN served_model TEXT;
ALTER TABLE checkpoints ADD COLUMN upstream_template TEXT;  -- the body sent upstream, messages as references
ALTER TABLE checkpoints ADD COLUMN content_mode TEXT;       -- NULL = full
ALTER TABLE checkpoints ADD COLUMN replay_of TEXT;          -- SESSION:TURN when sent by `ibex sessions replay`
CREATE INDEX checkpoints_created ON checkpoints (created_at);
-- Rows from before the ledger still to convert (a partial index: empty once converted).
CREATE INDEX checkpoints_unconverted ON checkpoints (created_at) WHERE message_refs IS NULL;

-- What an agent's checkpoints keep of the conversation: full, redacted or metadata.
ALTER TABLE agents ADD COLUMN content_mode TEXT NOT NULL DEFAULT 'full';
