-- Responses continuations across replicas and restarts: which session and agent a provider reply id
-- belongs to, and where its state lives, read by any gateway process that does not hold the link in
-- memory (src/sessions/response-links.ts).
--   response_id   the reply id this turn created (`resp_…`); NULL on other protocols and cache hits
--   continued_id  the id this turn continued when no earlier turn here had created it (a
--                 `conversation`, or a response made outside ibex): its first user owns it
--   state_at      JSON {"provider","keyIndex"}: the provider and key holding the reply's state;
--                 NULL when ibex translated the turn (the provider keeps none)
--   translated_turn  JSON {"previous","skip","output"} of a turn ibex translated (the provider keeps no
--                 state, so ibex sends the earlier turns again): the response id it continued, the
--                 reply as output items, and how many leading messages (the instructions) are not
--                 input (the input is the checkpoint's messages, in the ledger); NULL otherwise, and
--                 for agents not in `full` content mode
-- Partial indexes: a turn without these ids (every chat completion) writes no index entry.
-- Adding NULL columns rewrites nothing; building the indexes reads the table once and holds off
-- checkpoint writes meanwhile (they wait in the write-behind, then the spool): on a large table run
-- `ibex migrate` ahead of the deploy, at a quiet time.

ALTER TABLE checkpoints ADD COLUMN response_id TEXT;
ALTER TABLE checkpoints ADD COLUMN continued_id TEXT;
ALTER TABLE checkpoints ADD COLUMN state_at TEXT;
ALTER TABLE checkpoints ADD COLUMN translated_turn TEXT;
CREATE INDEX checkpoints_response ON checkpoints (response_id) WHERE response_id IS NOT NULL;
CREATE INDEX checkpoints_continued ON checkpoints (continued_id) WHERE continued_id IS NOT NULL;
