-- Policies and the response cache (issue 17): what every policy changed, held or blocked in a request,
-- as JSON text ([{"policy","phase","action","detail"}]; NULL when no policy acted), on its trace and on
-- its checkpoint; and the cache's answer on both (`hit` / `miss`; NULL when the agent has no cache).
-- A request a policy blocked has no checkpoint: its trace records the decision. Adding NULL
-- columns rewrites nothing.

ALTER TABLE traces ADD COLUMN policy_decisions TEXT;
ALTER TABLE traces ADD COLUMN cache_status TEXT;
ALTER TABLE checkpoints ADD COLUMN policy_decisions TEXT;
ALTER TABLE checkpoints ADD COLUMN cache_status TEXT;
